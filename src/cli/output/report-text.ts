import { relative } from 'node:path'
import { AppError, outcome } from '../../core/errors.js'
import { termSafe } from '../../core/sanitize.js'
import type { FailOn } from '../../report/formats.js'
import { diffCountsText, sideLabels } from '../../report/model/diff.js'
import { unreadableText } from '../../report/render/text.js'
import type { GateResult, WrittenReport } from '../../report/write.js'

/** A gate's word as the command's outcome: findings (exit 1), or nothing compared (exit 2). */
export function gateError(failOn: FailOn, g: GateResult): AppError {
  const text = `--fail-on ${failOn}: ${termSafe(g.text)}`
  return g.code === 'FINDINGS' ? outcome('FINDINGS', text) : new AppError('REPORT_NO_DATA', text)
}

/**
 * One warning per row of the database the report could not read (at most 20, then a count): the
 * report went on without them and lists them too. Empty when every row was read.
 */
export function unreadableWarnings(w: WrittenReport): string {
  const { rows, more } = w.unreadable
  if (rows.length === 0) return ''
  const out = rows.slice(0, 20).map((r) => `warning: ${unreadableText(r)}`)
  const rest = rows.length - 20 + more
  if (rest > 0) out.push(`warning: ${rest} more row(s) could not be read (listed in the report)`)
  return out.map((l) => `${termSafe(l)}\n`).join('')
}

/** What a person or a CI log needs: the files, the counts, and the findings that matter most. */
export function reportSummary(w: WrittenReport, cwd: string): string {
  const m = w.model
  const count = (v: string) => m.cells.filter((c) => c.verdict === v).length
  const unsafe = m.cells.filter((c) => c.unsafe)
  const noData = m.targets.length * m.firmware.length - m.cells.length
  const out = [
    `report: ${m.targets.length} target(s) x ${m.firmware.length} firmware (${m.firmware.map((f) => f.key).join(', ')}): ${count('pass') - unsafe.length} pass, ${unsafe.length} unsafe, ${count('fail')} fail, ${count('not-run')} not run${noData ? `, ${noData} without data` : ''}`,
  ]
  if (unsafe.length)
    out.push(
      `UNSAFE: ${unsafe.length} must-reject target(s) accepted: ${unsafe.map((c) => `${c.target} on ${c.key}`).join(', ')}`,
    )
  if (m.disagreements)
    out.push(
      `${m.disagreements} cell(s) where the profile's prediction disagrees with the module (listed first in the report)`,
    )
  if (m.diff) {
    const d = m.diff
    out.push(`${sideLabels(d).join(' -> ')}: ${diffCountsText(d)}`)
    if (d.regressions.length)
      out.push(
        `REGRESSIONS: ${d.regressions
          .slice(0, 10)
          .map(
            (r) =>
              `${r.target} on ${r.candidateKey ?? '?'} (${r.before} on ${r.baselineKey ?? '?'}, now ${r.after}${r.chainWhy ? `; ${r.chainWhy.text}` : ''})`,
          )
          .join(', ')}${d.regressions.length > 10 ? ', …' : ''}`,
      )
  }
  if (m.rigDifferences.length)
    out.push(
      `${m.rigDifferences.length} cell(s) differ between rigs on the same firmware (an environment difference): ${m.rigDifferences
        .slice(0, 5)
        .map((d) => `${d.target} on ${d.key}`)
        .join(', ')}${m.rigDifferences.length > 5 ? ', …' : ''}`,
    )
  if (m.chainChanges.length)
    out.push(`${m.chainChanges.length} target(s) changed chain since their previous observation`)
  if (m.expiring.length) out.push(`${m.expiring.length} CA certificate(s) in use expire within ${m.expiryDays} days`)
  const unread = w.unreadable.rows.length + w.unreadable.more
  if (unread) out.push(`${unread} row(s) of the database could not be read and were left out (listed in the report)`)
  // Relative to where the user is, unless that means climbing out of it.
  for (const f of w.files) out.push(`wrote ${relative(cwd, f).startsWith('..') ? f : relative(cwd, f)}`)
  return out.map(termSafe).join('\n')
}
