import { termSafe, truncate } from '../core/sanitize.js'
import type { AttemptRow } from '../store/index.js'
import type { Matrix, MatrixCell } from './matrix.js'
import { displayName } from '../chain/display-name.js'

function cellText(c: MatrixCell | undefined, lost: boolean, opened: boolean): string {
  if (!c) return '-'
  // A device that never opened was not lost: it never started this work.
  if (c.verdict === 'pending' && lost) return opened ? 'device lost' : 'device not opened'
  const mark = c.mismatch ? ' (!)' : ''
  if (c.verdict === 'pass') return `pass ${c.passed}/${c.tried}${mark}`
  if (c.verdict === 'fail') return `FAIL ${c.classes.join(',')}${c.tried > 1 ? ` x${c.tried}` : ''}${mark}`
  if (c.verdict === 'incomplete')
    return `incomplete: FAIL ${c.classes.join(',')}${c.tried > 1 ? ` x${c.tried}` : ''}, ${c.left ?? 'other'} CA(s) not judged`
  if (c.verdict === 'not-run') return `not run: ${c.notes.join(',')}`
  return 'pending'
}

/** A device that answered as a module (its module or firmware known). */
const opened = (d: Matrix['devices'][number]) => d.module !== null || d.firmware !== null

/** The matrix for a terminal: targets down, devices across, every string made safe. */
export function matrixText(m: Matrix): string {
  const header = [
    'target',
    ...m.devices.map((d) => `${d.label} (${!opened(d) ? 'not opened' : `${d.module ?? '?'} ${d.firmware ?? '?'}`})`),
  ]
  const rows = m.rows.map((r) => [
    `${r.target}${r.expect ? ` expect=${r.expect}` : ''}`,
    ...m.devices.map((d) => cellText(r.cells.get(d.label), d.lost !== null, opened(d))),
  ])
  // Wide enough for a whole cell ("incomplete: FAIL key-unsupported, 2 CA(s) not judged").
  const all = [header, ...rows].map((cols) => cols.map((c) => termSafe(truncate(c, 64))))
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  const line = (cols: string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const out = [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)]
  if (m.mismatches.length)
    out.push(
      '',
      `(!) ${m.mismatches.length} expect= mismatch(es): ${m.mismatches.map((x) => `${x.target} on ${x.device} expected ${x.expect}, got ${x.verdict}`).join('; ')}`,
    )
  return out.join('\n')
}

/**
 * Why each failure failed: the anchor tried and the module's own lines; and the CAs left out
 * because no trust store vouches for them (a finding on the chain, whatever the verdict).
 */
export function failuresText(attempts: readonly AttemptRow[]): string {
  const lines: string[] = []
  const failed = attempts.filter((x) => x.final && (x.outcome === 'fail' || x.reason?.reason === 'untrusted-anchor'))
  const order = [...new Set(attempts.map((a) => a.target))]
  failed.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target) || a.device.localeCompare(b.device))
  for (const a of failed) {
    if (a.outcome === 'not-run') {
      lines.push(
        termSafe(
          `${a.device}  ${a.target}  ${displayName(a.anchorSubject, 60)} (${a.anchorSource}): not uploaded: ${truncate(a.reason?.detail ?? '', 120)}`,
        ),
      )
      continue
    }
    lines.push(
      termSafe(`${a.device}  ${a.target}  with ${displayName(a.anchorSubject, 60)} (${a.anchorSource}): ${a.class}`),
    )
    for (const l of a.lines) lines.push(`    ${termSafe(truncate(l, 120))}`)
    if (a.reason) lines.push(`    (${termSafe(truncate(`${a.reason.reason}: ${a.reason.detail}`, 160))})`)
    // A must-reject target tried with a borrowed CA: which and why.
    if (a.note) lines.push(`    (${termSafe(truncate(a.note, 400))})`)
    if (a.upload)
      lines.push(
        `    (CA: ${termSafe(truncate(a.upload.command, 60))}${a.upload.ski ? `, key id ${a.upload.ski}` : ''})`,
      )
    if (a.class === 'unspecified')
      lines.push(
        '    (the module said only that it failed; tlsmatrix report predicts why from the served chain and the profile)',
      )
  }
  // A cell that says "not run: link" explains itself here: the reason, its detail and the
  // module's last lines, once per target, device and reason.
  const notRun = attempts.filter(
    (x) => x.final && x.outcome === 'not-run' && x.reason && x.reason.reason !== 'untrusted-anchor',
  )
  notRun.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target) || a.device.localeCompare(b.device))
  const seen = new Set<string>()
  const notRunLines: string[] = []
  for (const a of notRun) {
    const key = `${a.device}\u0000${a.target}\u0000${a.reason!.reason}\u0000${a.reason!.detail}`
    if (seen.has(key)) continue
    seen.add(key)
    notRunLines.push(
      termSafe(
        `${a.device}  ${a.target}: ${a.reason!.reason}${a.reason!.detail ? `: ${truncate(a.reason!.detail, 160)}` : ''}`,
      ),
    )
    for (const l of a.lines.slice(-3)) notRunLines.push(`    ${termSafe(truncate(l, 120))}`)
  }
  if (notRunLines.length) lines.push(...(lines.length ? [''] : []), 'not run:', ...notRunLines.map((l) => `  ${l}`))
  return lines.join('\n')
}
