import { createHash } from 'node:crypto'
import type { Writable } from 'node:stream'
import type { EvidenceSource, ReportModel } from '../model/types.js'
import { diffCounts, sideLabels } from '../model/diff.js'
import { makeContext, type HtmlContext } from './html-context.js'
import { evidenceSection } from './html-evidence.js'
import {
  anchorSetsSection,
  certificatesSection,
  chainChangesSection,
  diffSection,
  expiringSection,
  statementsSection,
} from './html-extras.js'
import {
  disagreementsSection,
  failuresSection,
  notRunSection,
  rigDifferencesSection,
  unsafeSection,
} from './html-findings.js'
import { matrixSection } from './html-matrix.js'
import { SCRIPT } from './html-script.js'
import { STYLE } from './html-style.js'
import { h, MARK } from './html-text.js'
import { unreadableText } from './text.js'
import { writePieces } from './write-pieces.js'

/**
 * Above this many cells the page carries AT transcripts and full chain tables only for cells
 * worth reading (failed, not run, disagreeing with the prediction, differing from expect=,
 * unsafe), and says so; every other cell keeps its summary, anchor, upload and chain names, and
 * its transcript stays in report.json. 10,000 targets × 10 firmware with a transcript each would
 * be hundreds of megabytes no browser opens comfortably; the cells that need reading stay whole.
 */
export const FULL_EVIDENCE_MAX_CELLS = 20_000

export interface HtmlOptions {
  /** Overrides FULL_EVIDENCE_MAX_CELLS (tests). */
  fullEvidenceMaxCells?: number
}

/**
 * Writes the HTML report to `out`, piece by piece, honouring backpressure. One self-contained
 * file: inline style and script, nothing fetched (the Content-Security-Policy forbids it too),
 * readable with JavaScript off, printable. Does not end `out`.
 */
export async function writeHtmlReport(
  model: ReportModel,
  evidence: EvidenceSource,
  out: Writable,
  options: HtmlOptions = {},
): Promise<void> {
  await writePieces(htmlPieces(model, evidence, options), out)
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64')

/**
 * The script and the style are allowed by their hashes, nothing else is: should an untrusted
 * string ever slip past the escaping, it still could not run script or fetch anything.
 */
const CSP = `default-src 'none'; script-src 'sha256-${sha256(SCRIPT)}'; style-src 'sha256-${sha256(STYLE)}'; img-src 'none'; base-uri 'none'; form-action 'none'`

export function* htmlPieces(
  model: ReportModel,
  evidence: EvidenceSource,
  options: HtmlOptions = {},
): Generator<string> {
  const ctx = makeContext(
    model,
    evidence,
    model.cells.length <= (options.fullEvidenceMaxCells ?? FULL_EVIDENCE_MAX_CELLS),
  )
  yield '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
  yield `<meta http-equiv="Content-Security-Policy" content="${CSP}">`
  yield '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">'
  yield `<title>${h(model.title)}</title><style>${STYLE}</style></head><body${ctx.listMax === null ? '' : ' class="large"'}>`
  yield* header(ctx)
  yield '<main>'
  yield* disagreementsSection(ctx)
  yield* unsafeSection(ctx)
  yield* rigDifferencesSection(ctx)
  yield* matrixSection(ctx)
  yield* failuresSection(ctx)
  yield* notRunSection(ctx)
  yield* diffSection(ctx)
  yield* chainChangesSection(ctx)
  yield* expiringSection(ctx)
  yield* anchorSetsSection(ctx)
  yield* statementsSection(ctx)
  yield* evidenceSection(ctx)
  yield* certificatesSection(ctx)
  yield `</main><script>${SCRIPT}</script></body></html>\n`
}

function* header(ctx: HtmlContext): Generator<string> {
  const { model } = ctx
  const count = (f: (c: ReportModel['cells'][number]) => boolean) => model.cells.reduce((n, c) => n + (f(c) ? 1 : 0), 0)
  const unsafe = count((c) => c.unsafe)
  yield `<header><h1>${h(model.title)}</h1><p class="meta">Generated ${h(model.generatedAt)}. `
  yield `${model.targets.length} target(s) &times; ${model.firmware.length} firmware: ${model.cells.length} cell(s), `
  yield `<span class="pass">${MARK.pass} ${count((c) => c.verdict === 'pass' && !c.unsafe)} pass</span>, <span class="fail">${MARK.fail} ${count((c) => c.verdict === 'fail')} fail</span>, `
  yield `<span class="not-run">${MARK['not-run']} ${count((c) => c.verdict === 'not-run')} not run</span>, ${MARK.unsafe} ${unsafe} unsafe, &#8800; ${model.disagreements} disagreement(s).</p>`
  const d = model.diff
  if (d) {
    // The terminal's counts, regressions and fixes marked.
    const [regressions, fixes, ...rest] = diffCounts(d)
    yield `<p class="meta">Diff ${h(d.baseline)} &rarr; ${h(d.candidate)}: <span class="fail">&#9660; ${h(regressions)}</span>, <span class="pass">&#9650; ${h(fixes)}</span>, ${rest.map(h).join(', ')}.</p>`
  }
  // A baseline none of whose cells is in the matrix (a gate's released firmware, last night's run):
  // the header says where its verdicts are, so the columns are not read as the whole comparison.
  if (d && d.baselineRuns.length && !model.cells.some((c) => d.baselineRuns.includes(c.runId)))
    yield `<p class="meta">The matrix shows ${model.firmware.length === 1 ? 'one column' : `${model.firmware.length} columns`} (${model.firmware.map((f) => h(f.key)).join(', ')}), none from the baseline: the baseline's verdicts (${h(sideLabels(d)[0])}) are in the <a href="#diff">Diff</a> only.</p>`
  if (unsafe)
    yield `<p class="banner">${MARK.unsafe} ${unsafe} unsafe accept(s): a must-reject target passed. <a href="#unsafe">See below</a>.</p>`
  if (d?.regressions.length)
    yield `<p class="banner" id="regressions-banner">&#9660; ${d.regressions.length} regression(s) from ${h(d.baseline)} to ${h(d.candidate)}: ${d.regressions
      .slice(0, 10)
      .map((r) => `${h(r.target)} on ${h(r.candidateKey ?? '?')}`)
      .join(', ')}${d.regressions.length > 10 ? ', &hellip;' : ''}. <a href="#diff">See the diff</a>.</p>`
  const emulated = count((c) => c.evidence.provenance?.kind === 'emu')
  if (emulated)
    yield `<p class="note">${emulated} of ${model.cells.length} cell(s) come from emulated modules (<code>emu:</code>): their verdicts follow the firmware profiles, not real modules.</p>`
  yield '<table><caption>Runs in this report</caption><thead><tr><th scope="col">Run</th><th scope="col">Label</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Status</th></tr></thead><tbody>'
  for (const r of model.runs) {
    yield `<tr><th scope="row"><code>${h(r.id)}</code></th><td>${h(r.label ?? '')}</td><td>${h(r.startedAt)}</td><td>${h(r.endedAt ?? 'not ended')}</td><td>${h(r.status)}</td></tr>`
  }
  yield '</tbody></table>'
  // Rows of the database left out (cells may be missing for them): said before anything else.
  const u = model.unreadable
  if (u && u.rows.length) {
    yield `<section id="unreadable" aria-labelledby="unreadable-h"><h2 id="unreadable-h">Rows the report could not read</h2><p class="banner">${u.rows.length + u.more} row(s) of the database could not be read; the report went on without them.</p><ul>`
    for (const r of u.rows) yield `<li>${h(unreadableText(r))}</li>`
    if (u.more) yield `<li>and ${u.more} more</li>`
    yield '</ul></section>'
  }
  yield '<nav aria-label="Sections"><ul>'
  const sections: Array<[string, string]> = [
    ['disagreements', 'Disagreements'],
    ['unsafe', 'Unsafe accepts'],
    ['matrix', 'Matrix'],
    ['must-reject', 'Must-reject targets'],
    ['failures', 'Failures'],
    ['not-run', 'Not run'],
  ]
  if (model.diff) sections.push(['diff', 'Diff'])
  sections.push(
    ['chain-changes', 'Chain changes'],
    ['expiring', 'Expiring CA certificates'],
    ['anchor-sets', 'Anchor sets'],
    ['statements', 'Statements'],
    ['evidence', 'Evidence'],
    ['certificates', 'Certificates'],
  )
  for (const [id, name] of sections) yield `<li><a href="#${id}">${name}</a></li>`
  yield '</ul></nav></header>'
}
