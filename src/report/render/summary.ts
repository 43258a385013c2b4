import { visibleText } from '../../core/sanitize.js'
import { diffCountsText } from '../model/diff.js'
import type { Cell, DiffEntry, ReportModel } from '../model/types.js'

/** Items named per finding line; the rest are counted. */
const NAMED = 5

/**
 * `summary.txt` (`--format summary`): a few lines for a pull request or a chat message. Per
 * firmware its pass / fail / not-run counts (and how many cells were emulated), the diff's counts
 * (or that regressions were not judged, and why), then the worst findings: unsafe accepts, regressions, expect=
 * mismatches, disagreements. It names only targets (from the hosts file) and firmware columns,
 * never certificate or server text, each with controls and bidi characters written out; no
 * Markdown of its own, so it reads the same pasted anywhere.
 */
export function renderSummary(model: ReportModel): string {
  const t = (s: string) => visibleText(s)
  const out: string[] = []
  out.push(
    `${t(model.title)}: ${model.targets.length} target(s) x ${model.firmware.length} firmware, ${model.cells.length} cell(s), generated ${model.generatedAt}`,
  )
  for (const f of model.firmware) {
    const mine = model.cells.filter((c) => c.key === f.key)
    const n = (v: Cell['verdict']) => mine.filter((c) => c.verdict === v).length
    const emulated = mine.filter((c) => c.evidence.provenance?.kind === 'emu').length
    const noData = model.targets.length - mine.length
    out.push(
      `  ${t(f.key)}: ${n('pass')} pass, ${n('fail')} fail, ${n('not-run')} not run${noData ? `, ${noData} no data` : ''}${emulated ? ` (${emulated === mine.length ? 'all' : emulated} emulated: verdicts follow the profile)` : ''}`,
    )
  }
  const d = model.diff
  // Only what was judged: without a diff, regressions were not (and the line says why).
  if (d) out.push(`Diff ${t(d.baseline)} -> ${t(d.candidate)}: ${diffCountsText(d)}`)
  else out.push(`Regressions not judged: ${t(model.noDiff ?? 'the report compares no baseline with a candidate')}.`)
  const findings: string[] = []
  const named = (items: readonly string[]) =>
    `${items.slice(0, NAMED).join(', ')}${items.length > NAMED ? ` and ${items.length - NAMED} more` : ''}`
  const unsafe = model.cells.filter((c) => c.unsafe)
  if (unsafe.length)
    findings.push(
      `UNSAFE: ${unsafe.length} must-reject target(s) accepted: ${named(unsafe.map((c) => `${t(c.target)} on ${t(c.key)}`))}`,
    )
  if (d?.regressions.length)
    findings.push(`${d.regressions.length} regression(s): ${named(d.regressions.map((r) => regression(r, t)))}`)
  const mismatches = model.cells.filter((c) => c.mismatch && !c.unsafe)
  if (mismatches.length)
    findings.push(
      `${mismatches.length} expect= mismatch(es): ${named(mismatches.map((c) => `${t(c.target)} on ${t(c.key)} (expected ${c.expect}, got ${c.verdict})`))}`,
    )
  if (model.disagreements)
    findings.push(`${model.disagreements} cell(s) where the profile's prediction and the module disagree`)
  out.push(
    findings.length
      ? 'Worst findings:'
      : `No unsafe accept, ${d ? 'regression, ' : ''}expect= mismatch or disagreement.`,
  )
  for (const f of findings) out.push(`  - ${f}`)
  return `${out.join('\n')}\n`
}

function regression(r: DiffEntry, t: (s: string) => string): string {
  const side = (v: string, cls: string | null) => `${v}${cls ? ` (${t(cls)})` : ''}`
  // The chain sentence without certificate names: this file names no server text.
  return `${t(r.target)}${r.key ? ` on ${t(r.key)}` : ''} ${side(r.before, r.beforeClass)} -> ${side(r.after, r.afterClass)}${r.chainWhy ? `; ${t(r.chainWhy.brief)}` : ''}`
}
