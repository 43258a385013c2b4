import { diffMarks } from '../model/diff.js'
import { provenanceShort } from '../model/provenance.js'
import type { Cell, TargetRow } from '../model/types.js'
import { cellKey, cellLink, type HtmlContext } from './html-context.js'
import { h, MARK } from './html-text.js'

/**
 * The matrix: targets down (grouped by first tag, in the model's order), firmware across. Targets
 * that must be rejected get their own table, where a pass is the worst finding on the page.
 */
export function* matrixSection(ctx: HtmlContext): Generator<string> {
  const { model } = ctx
  const accept = model.targets.filter((t) => t.expect !== 'fail')
  const reject = model.targets.filter((t) => t.expect === 'fail')
  yield '<section id="matrix" aria-labelledby="matrix-h"><h2 id="matrix-h">Matrix</h2>'
  yield `<p class="small">Each cell: the observed verdict (${MARK.pass} pass on green, ${MARK.fail} fail on red with a thick rule, ${MARK.unsafe} unsafe accept on dark red, ${MARK['not-run']} not run on grey with a dotted rule, ${MARK.none} no data), `
  yield 'then the anchor that passed, the failure class or why it was not run, then what the profile predicted where it disagrees (with JavaScript, the filters can show every prediction). '
  yield '&#8800; marks a cell whose observation disagrees with the prediction. The last line says where the verdict came from: '
  yield '<em>emulated</em> (an emulator the run started, <code>emu:</code>: its verdict follows the firmware profile, not a real module), '
  yield '<em>serial</em>, <em>pty</em> or <em>tcp</em> (a module on that line, taken as real: an emulator started by hand on a line looks the same to the runner). Each cell links to its evidence.</p>'
  yield* filterForm(ctx)
  if (accept.length) yield* matrixTable(ctx, accept, 'Targets that should be reachable, by firmware', 0)
  else yield '<p>No target is expected to be reachable.</p>'
  yield '</section>'
  yield '<section id="must-reject" aria-labelledby="must-reject-h"><h2 id="must-reject-h">Must-reject targets (expect=fail)</h2>'
  if (reject.length) {
    yield `<p>These servers must be refused. A pass here (${MARK.unsafe}) means the module accepted a server it must not trust.</p>`
    yield* matrixTable(ctx, reject, 'Must-reject targets, by firmware', accept.length)
  } else yield '<p>No target in this report is marked <code>expect=fail</code>.</p>'
  yield '</section>'
}

/** A cell the diff marks: a symbol and a word, as every state. */
const REGRESSED = '&#9660; regressed'
const FIXED = '&#9650; fixed'

/** The diff's marks per cell (regressed / fixed), worked out once per page. */
const marksCache = new WeakMap<HtmlContext, Map<string, 'regressed' | 'fixed'>>()
function marksOf(ctx: HtmlContext): Map<string, 'regressed' | 'fixed'> {
  let m = marksCache.get(ctx)
  if (!m) marksCache.set(ctx, (m = diffMarks(ctx.model.diff)))
  return m
}

/** Hidden until the script shows it: with JavaScript off there is nothing to click that does nothing. */
function* filterForm(ctx: HtmlContext): Generator<string> {
  const tags = [...new Set(ctx.model.targets.flatMap((t) => t.tags))]
  yield '<form id="filters" hidden><label for="f-tag">Tag<select id="f-tag"><option value="">all tags</option>'
  for (const t of tags) yield `<option value="${h(t)}">${h(t)}</option>`
  yield '</select></label><label for="f-verdict">Rows with a cell that is<select id="f-verdict"><option value="">anything</option>'
  yield `<option value="fail">${MARK.fail} fail</option><option value="not-run">${MARK['not-run']} not run</option><option value="pass">${MARK.pass} pass</option>`
  yield `<option value="unsafe">${MARK.unsafe} unsafe accept</option><option value="disagree">&#8800; disagrees with the prediction</option><option value="mismatch">! differs from expect=</option>`
  if (ctx.model.diff) yield `<option value="regressed">${REGRESSED}</option><option value="fixed">${FIXED}</option>`
  yield '</select></label>'
  // Predictions that agree are on the page only in a report of ordinary size.
  if (ctx.listMax === null)
    yield '<label for="f-pred" class="check"><span><input type="checkbox" id="f-pred"> show every prediction</span></label>'
  yield '<button type="reset">Show all</button><output id="f-status" aria-live="polite"></output></form>'
}

/** Rows per table in a large report: each chunk is laid out only when scrolled to (content-visibility). */
const LARGE_CHUNK_ROWS = 250

function* matrixTable(ctx: HtmlContext, rows: TargetRow[], caption: string, orderBase: number): Generator<string> {
  if (ctx.listMax === null || rows.length <= LARGE_CHUNK_ROWS) {
    yield* matrixRows(ctx, rows, caption, orderBase, true)
    return
  }
  // A large report: a 10,000-row table takes a browser half a minute to lay out; chunks of fixed
  // layout line up as one table and cost only when shown. Sorting would sort within a chunk, so
  // the page offers filters only (report.json has the rest).
  yield `<p class="note">${rows.length} targets: the matrix is split into tables of ${LARGE_CHUNK_ROWS} rows, in the model's order; filters work across them, sorting is left to <code>report.json</code>.</p>`
  for (let i = 0; i < rows.length; i += LARGE_CHUNK_ROWS) {
    const part = rows.slice(i, i + LARGE_CHUNK_ROWS)
    yield '<div class="chunk">'
    yield* matrixRows(ctx, part, `${caption}: ${i + 1}–${i + part.length} of ${rows.length}`, orderBase + i, false)
    yield '</div>'
  }
}

function* matrixRows(
  ctx: HtmlContext,
  rows: TargetRow[],
  caption: string,
  orderBase: number,
  sortable: boolean,
): Generator<string> {
  const cols = ctx.model.firmware
  yield `<table class="matrix${sortable ? ' sortable' : ''}"><caption>${h(caption)}</caption><thead><tr><th scope="col" data-col="0">Target</th>`
  for (const [i, f] of cols.entries())
    yield `<th scope="col" data-col="${i + 1}">${h(f.module)}<br>${h(f.firmware)}</th>`
  yield '</tr></thead>'
  let group: string | null = null
  for (const [i, row] of rows.entries()) {
    const g = row.tags[0] ?? ''
    if (group === null || g !== group) {
      if (group !== null) yield '</tbody>'
      group = g
      yield `<tbody data-group><tr><th scope="rowgroup" colspan="${cols.length + 1}">${g ? `tag ${h(g)}` : 'untagged'}</th></tr>`
    }
    const cells = cols.map((f) => {
      const at = ctx.cellAt.get(cellKey(row.target, f.key))
      return at === undefined ? undefined : ctx.model.cells[at]
    })
    const verdicts = new Set<string>()
    for (const c of cells) {
      if (!c) continue
      verdicts.add(c.verdict)
      if (c.unsafe) verdicts.add('unsafe')
      if (c.disagree) verdicts.add('disagree')
      if (c.mismatch) verdicts.add('mismatch')
      const mark = marksOf(ctx).get(cellKey(c.target, c.key))
      if (mark) verdicts.add(mark)
    }
    yield `<tr data-row data-order="${orderBase + i}" data-verdicts="${[...verdicts].join(' ')}" data-tags="${h(JSON.stringify(row.tags))}">`
    yield `<th scope="row">${h(row.target)}${row.expect ? `<span class="small">expect=${h(row.expect)}</span>` : ''}</th>`
    for (const c of cells)
      yield c ? matrixCell(ctx, c) : `<td class="cell none" data-rank="5">${MARK.none} no data</td>`
    yield '</tr>'
  }
  if (group !== null) yield '</tbody>'
  yield '</table>'
}

/** Sort rank: the worst first. */
function rank(c: Cell): number {
  if (c.unsafe) return 0
  if (c.verdict === 'fail') return c.mismatch ? 1 : 2
  if (c.verdict === 'not-run') return 3
  return 4
}

export function matrixCell(ctx: HtmlContext, c: Cell): string {
  const cls = c.unsafe ? 'unsafe' : c.verdict
  let head: string
  let sub: string
  if (c.unsafe) {
    head = `${MARK.unsafe} UNSAFE: pass`
    sub = preferredAnchor(ctx, c)
  } else if (c.verdict === 'pass') {
    head = `${MARK.pass} pass`
    sub = preferredAnchor(ctx, c)
  } else if (c.verdict === 'fail') {
    head = `${MARK.fail} fail`
    sub = h(c.class ?? 'unclassified')
  } else {
    head = `${MARK['not-run']} not run`
    sub = h(c.notRun?.reason ?? 'no reason recorded')
  }
  // The prediction is shown where it disagrees; one that agrees is in the markup, shown on demand
  // (a large report leaves those out: report.json has them).
  const showPredicted = ctx.listMax === null || c.disagree
  const predicted = showPredicted
    ? `<span class="sub pred${c.disagree ? '' : ' agree'}">predicted ${h(c.predicted)}${c.predicted === 'fail' && c.predictedClass ? ` (${h(c.predictedClass)})` : ''}</span>`
    : ''
  const flags: string[] = []
  if (c.disagree) flags.push('&#8800; disagrees with the prediction')
  if (c.mismatch && !c.unsafe) flags.push(`! expected ${h(c.expect)}`)
  const mark = marksOf(ctx).get(cellKey(c.target, c.key))
  if (mark) flags.push(mark === 'regressed' ? REGRESSED : FIXED)
  // Emulated or a module on a line, in every cell: an emulated verdict follows the profile.
  const prov = c.evidence.provenance
  const origin = `<span class="sub prov${prov?.kind === 'emu' ? ' emu' : ''}">${h(provenanceShort(prov))}</span>`
  return (
    `<td class="cell ${cls}${c.disagree ? ' disagree' : ''}" data-rank="${rank(c)}">${cellLink(ctx, c, `<span class="v">${head}</span>`)}` +
    `${sub ? `<span class="sub">${sub}</span>` : ''}${predicted}${flags.map((f) => `<span class="flag">${f}</span>`).join('')}${origin}</td>`
  )
}

function preferredAnchor(ctx: HtmlContext, c: Cell): string {
  const sha = c.anchors.passed[0]
  if (!sha) return ''
  const cert = ctx.model.certificates[sha]
  return `with ${h(cert ? cert.name : sha.slice(0, 16))}`
}
