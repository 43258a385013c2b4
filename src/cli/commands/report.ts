import { existsSync, statSync } from 'node:fs'
import { relative, resolve as resolvePath } from 'node:path'
import type { Clock } from '../../core/clock.js'
import { AppError, outcome } from '../../core/errors.js'
import { termSafe } from '../../core/sanitize.js'
import { unreadableText } from '../../report/render/text.js'
import { writeReport, type FailOn, type GateResult, type ReportFormat, type WrittenReport } from '../../report/write.js'
import { sideLabels } from '../../report/model/diff.js'
import { inspectDb, openDb } from '../../store/index.js'
import type { Io } from '../io.js'

export interface ReportOptions {
  db: string
  run: string[]
  baseline?: string
  candidate?: string
  format: ReportFormat[]
  out: string
  failOn: FailOn
  expiryDays: number
  tags: string[]
  title?: string
}

/**
 * `tlsmatrix report`: renders the history in the database. Exit 0; 1 when the --fail-on
 * condition holds (after every file is written); 2 for a missing or unusable database, a
 * selector with no data, or an unwritable directory.
 */
export async function reportCommand(opts: ReportOptions, io: Io, clock: Clock): Promise<void> {
  // Checked before anything is read or written: a usage error leaves no report behind.
  if (opts.failOn === 'regression' && !(opts.baseline && opts.candidate))
    throw new AppError('USAGE', '--fail-on regression needs --baseline and --candidate')
  const dbPath = resolvePath(io.cwd, opts.db)
  // A report never creates a database: a mistyped --db is an error, not an empty report.
  if (!existsSync(dbPath) || statSync(dbPath).size === 0)
    throw new AppError(
      'REPORT_NO_DATA',
      `no database at ${dbPath}: run a survey first (tlsmatrix run --db ${opts.db} …) or give --db`,
    )
  inspectDb(dbPath)
  const db = openDb(dbPath)
  let written: WrittenReport
  try {
    written = await writeReport(db, {
      runs: opts.run,
      baseline: opts.baseline ?? null,
      candidate: opts.candidate ?? null,
      tags: opts.tags,
      expiryDays: opts.expiryDays,
      title: opts.title ?? null,
      now: clock.now(),
      formats: opts.format,
      outDir: resolvePath(io.cwd, opts.out),
      failOn: opts.failOn,
    })
  } finally {
    db.close()
  }
  io.stdout.write(`${reportSummary(written, io.cwd)}\n`)
  io.stderr.write(unreadableWarnings(written))
  if (written.gate) throw gateError(opts.failOn, written.gate)
}

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
    out.push(
      `${sideLabels(d).join(' -> ')}: ${d.regressions.length} regression(s), ${d.fixes.length} fix(es), ${d.changed.length} changed, ${d.same.length} same${d.chainChanged.length ? `, ${d.chainChanged.length} changed with the server's chain (not blamed on the firmware)` : ''}${d.notComparable.length ? `, ${d.notComparable.length} not comparable` : ''}`,
    )
    if (d.regressions.length)
      out.push(
        `REGRESSIONS: ${d.regressions
          .slice(0, 10)
          .map(
            (r) => `${r.target} on ${r.candidateKey ?? '?'} (${r.before} on ${r.baselineKey ?? '?'}, now ${r.after})`,
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
