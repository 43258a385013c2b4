/**
 * The page's only style sheet, inline (the file must open anywhere with nothing fetched). System
 * fonts only. Every state has a symbol and a word besides its colour; print drops the controls.
 */
export const STYLE = `
:root { color-scheme: light; --pass: #0a6b2d; --fail: #a4161a; --notrun: #555; --unsafe: #fff; --unsafe-bg: #8b0000; --line: #ccc; --pass-bg: #e7f5ea; --fail-bg: #f8d3d3; --notrun-bg: #ececec; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 1.5rem 3rem; color: #111; background: #fff; }
h1 { font-size: 1.6rem; margin: 1rem 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid #333; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .4rem .6rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #eee; position: sticky; top: 0; }
tbody th[scope=rowgroup] { background: #e4e8f0; }
th[scope=row] { font-weight: 500; max-width: 28rem; overflow-wrap: anywhere; }
td, th { overflow-wrap: break-word; }
td.mono, td code { overflow-wrap: anywhere; }
.nowrap { white-space: nowrap; overflow-wrap: normal; }
.meta { color: #444; margin: 0; }
.banner { border: 3px solid var(--unsafe-bg); background: #fff0f0; padding: .5rem .8rem; margin: .8rem 0; font-weight: 600; }
.ok-banner { border: 2px solid var(--pass); padding: .4rem .8rem; margin: .8rem 0; }
.pass { color: var(--pass); }
.fail { color: var(--fail); font-weight: 600; }
.not-run { color: var(--notrun); }
.unsafe { background: var(--unsafe-bg); color: var(--unsafe); font-weight: 700; }
.unsafe a { color: var(--unsafe); }
.none { color: #888; }
td.cell { min-width: 9rem; }
/*
 * Pass and fail by background as well as by mark and word: light green against a darker pink (apart
 * in lightness too, so they differ in greyscale print and for red-green colour blindness), and a
 * fail also has a thick left rule, a not-run a dotted one. Every text colour on them keeps 4.5:1.
 */
td.cell.pass { background: var(--pass-bg); }
td.cell.fail { background: var(--fail-bg); border-left: 5px solid var(--fail); }
td.cell.not-run { background: var(--notrun-bg); border-left: 5px dotted var(--notrun); }
td.cell.unsafe { border-left: 5px double #fff; }
.prov { font-style: italic; }
/* A prediction that agrees with the observation is shown on demand only (the "every prediction" switch). */
td.cell .pred.agree { display: none; }
body.show-pred td.cell .pred.agree { display: block; }
/* Fixed layout: a 10,000 × 10 matrix is laid out from its first row, not by measuring every cell. */
table.matrix { table-layout: fixed; width: 100%; }
table.matrix th[scope=col]:first-child { width: 18rem; }
/* A large report's sections below the fold are laid out when scrolled to (long evidence and certificate lists). */
body.large #failures, body.large #anchor-sets, body.large #statements, body.large #evidence, body.large #certificates { content-visibility: auto; contain-intrinsic-size: auto 3000px; }
.chunk { content-visibility: auto; contain-intrinsic-size: auto 20000px; }
.chunk table.matrix { margin: 0; }
.cell .v { display: block; }
.cell .sub, .small { display: block; font-size: 11.5px; color: #444; }
.unsafe .sub, .unsafe .small { color: #fdd; }
.disagree { outline: 3px dashed #b36b00; outline-offset: -3px; }
.flag { font-size: 11.5px; font-weight: 600; color: #7a4a00; display: block; }
.unsafe .flag { color: #ffd27a; }
.note { background: #fffbe6; border-left: 4px solid #b38f00; padding: .4rem .7rem; }
details { margin: .2rem 0; }
details > summary { cursor: pointer; }
.evidence { border-top: 1px solid #ddd; padding: .3rem 0; }
.evidence > div { margin-left: 1.2rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: .3rem 0; }
dl.kv dt { font-weight: 600; }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.tx { color: #063a8c; }
.rx { color: #111; }
.ctl { color: #6b3fa0; background: #efe7f8; border-radius: 2px; padding: 0 1px; }
.tnote { color: #7a4a00; font-style: italic; }
#filters { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; margin: .5rem 0; padding: .4rem .6rem; background: #f2f4f8; border: 1px solid #d5dae3; }
#filters[hidden] { display: none; }
#filters label { display: flex; flex-direction: column; font-size: 12px; }
th button.sort { font: inherit; border: 0; background: none; padding: 0; cursor: pointer; text-decoration: underline dotted; text-align: left; }
nav ul { columns: 2; margin: .3rem 0; }
@media print {
  #filters, th button.sort .arrow, nav { display: none !important; }
  body { margin: 0; font-size: 11px; }
  thead th { position: static; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  tr, .evidence { break-inside: avoid; }
  .unsafe, td.cell { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`
