import { existsSync, statSync } from 'node:fs'
import { join, resolve as resolvePath } from 'node:path'
import type { Clock } from '../core/clock.js'
import { AppError, isAppError, messageOf } from '../core/errors.js'
import type { FailOn, ReportFormat } from '../report/formats.js'
import { sameSidesWhy } from '../report/model/diff.js'
import type { GateResult, WrittenReport } from '../report/write.js'
import { HistoryStore, inspectDb, openDb, type Db } from '../store/index.js'
import type { JobIo } from './io.js'

/** Selectors a run's report diff may use besides MODULE@FIRMWARE and run:ID, resolved when the run ends. */
export const PREVIOUS_RUN = 'previous-run'
export const THIS_RUN = 'this-run'

export interface ReportJobOptions {
  db: string
  run: string[]
  baseline?: string | undefined
  candidate?: string | undefined
  format: ReportFormat[]
  out: string
  failOn: FailOn
  expiryDays: number
  tags: string[]
  title?: string | undefined
}

/**
 * `tlsmatrix report`: renders the history in the database into the chosen formats. USAGE for a
 * regression gate without both sides, REPORT_NO_DATA for a missing database or a selector with
 * no data. The gate's word is in the result (`gate`), for the command to turn into its exit.
 */
export async function reportJob(opts: ReportJobOptions, io: JobIo, clock: Clock): Promise<WrittenReport> {
  // Checked before anything is read or written: a usage error leaves no report behind.
  if (opts.failOn === 'regression' && !(opts.baseline && opts.candidate))
    throw new AppError('USAGE', '--fail-on regression needs --baseline and --candidate')
  checkDiffSides(opts.baseline, opts.candidate)
  const dbPath = resolvePath(io.cwd, opts.db)
  // A report never creates a database: a mistyped --db is an error, not an empty report.
  if (!existsSync(dbPath) || statSync(dbPath).size === 0)
    throw new AppError(
      'REPORT_NO_DATA',
      `no database at ${dbPath}: run a survey first (tlsmatrix run --db ${opts.db} …) or give --db`,
    )
  inspectDb(dbPath)
  const { writeReport } = await import('../report/write.js')
  const db = openDb(dbPath)
  try {
    return await writeReport(db, {
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
}

/** What a run's report does when the run ends (kept with the run, so a resumed run ends as it was started). */
export interface RunReportOptions {
  report: string
  reportFormat?: ReportFormat[] | undefined
  /** `previous-run` and `this-run` are resolved here, when the run ends. */
  reportDiff?: { baseline: string; candidate: string } | undefined
  failOn?: FailOn | undefined
  reportExpiryDays?: number | undefined
}

/** What happened to a run's report, for the command to say. */
export type RunReportEvent =
  | { kind: 'no-baseline'; selector: string }
  | { kind: 'no-diff'; why: string }
  | { kind: 'report'; written: WrittenReport }
  | { kind: 'no-report'; why: string }

/**
 * A diff's two sides are two: the same selector twice (a firmware, a run, this run) is refused
 * before any work (USAGE), as it would find no change by construction and let a gate pass.
 */
export function checkDiffSides(
  baseline: string | undefined,
  candidate: string | undefined,
  names?: readonly [string, string],
): void {
  if (!baseline || !candidate) return
  const same = sameSidesWhy(baseline, candidate, names)
  if (same) throw new AppError('USAGE', same)
}

/** `--report DIR` can be written, checked before any work (`create`: made, and a file written in it). */
export async function checkReport(dir: string | undefined, io: JobIo, create: boolean): Promise<void> {
  if (!dir) return
  const { checkReportDir } = await import('../report/write.js')
  checkReportDir(resolvePath(io.cwd, dir), { create })
}

/**
 * `--report DIR`: the run's report, also when it ended early (what it found is worth reading, and
 * the report says the run is incomplete). A run stopped before any verdict has nothing to show;
 * a report that cannot be written fails a complete run (exit 2) but never hides why a run
 * stopped early. A gate (`--fail-on`) never passes without a report: with no data for it, or
 * nothing compared, a complete run exits 2. Returns the gate's word for a complete run.
 */
export async function reportRun(
  db: Db,
  run: { id: string; complete: boolean; title: string | null },
  opts: RunReportOptions,
  io: JobIo,
  clock: Clock,
  on: (e: RunReportEvent) => void,
): Promise<GateResult | null> {
  const { writeReport, DEFAULT_REPORT_FORMATS, REPORT_FILES } = await import('../report/write.js')
  const runId = run.id
  const history = new HistoryStore(db)
  // previous-run: the newest complete run before this one that holds a verdict (see the store).
  const pick = (sel: string | undefined): string | null => {
    if (!sel) return null
    if (sel === THIS_RUN) return `run:${runId}`
    if (sel !== PREVIOUS_RUN) return sel
    const prev = history.previousCompleteRun(runId)
    return prev ? `run:${prev}` : null
  }
  let baseline = pick(opts.reportDiff?.baseline)
  let candidate = pick(opts.reportDiff?.candidate ?? (opts.reportDiff ? THIS_RUN : undefined))
  // Why the report has no diff, said where its regressions would be.
  let noDiff: string | null = null
  if (opts.reportDiff && (!baseline || !candidate)) {
    // The first night has no last night: a report without a diff, and nothing for a gate to judge.
    on({ kind: 'no-baseline', selector: opts.reportDiff.baseline })
    noDiff = `no ${opts.reportDiff.baseline} to compare with (no earlier complete run in the database)`
    baseline = null
    candidate = null
  }
  const failOn = opts.failOn === 'regression' && !baseline ? 'never' : (opts.failOn ?? 'never')
  const write = (withDiff: boolean) =>
    writeReport(db, {
      runs: [
        ...new Set([
          runId,
          ...(withDiff ? [baseline, candidate] : [])
            .filter((s): s is string => !!s?.startsWith('run:'))
            .map((s) => s.slice(4)),
        ]),
      ],
      baseline: withDiff ? baseline : null,
      candidate: withDiff ? candidate : null,
      noDiff,
      tags: [],
      expiryDays: opts.reportExpiryDays ?? 90,
      title: run.title,
      now: clock.now(),
      formats: opts.reportFormat ?? [...DEFAULT_REPORT_FORMATS],
      outDir: resolvePath(io.cwd, opts.report),
      failOn,
    })
  try {
    let written
    try {
      written = await write(!!baseline)
    } catch (err) {
      // A baseline with no data: a regression gate cannot judge (exit 2, below); any other report
      // is written without the diff, saying why.
      if (!baseline || failOn === 'regression' || !isAppError(err, 'REPORT_NO_DATA')) throw err
      on({ kind: 'no-diff', why: messageOf(err) })
      noDiff = `no diff this time: ${messageOf(err)}`
      written = await write(false)
    }
    on({ kind: 'report', written })
    return run.complete ? written.gate : null
  } catch (err) {
    const gate = failOn !== 'never'
    if (run.complete && (gate || !isAppError(err, 'REPORT_NO_DATA'))) {
      if (gate && isAppError(err, 'REPORT_NO_DATA')) {
        // Files an earlier report left there are named: a CI step must not publish them as tonight's.
        const outDir = resolvePath(io.cwd, opts.report)
        const stale = (opts.reportFormat ?? [...DEFAULT_REPORT_FORMATS])
          .map((f) => REPORT_FILES[f])
          .filter((f) => existsSync(join(outDir, f)))
        throw new AppError(
          'REPORT_NO_DATA',
          `--fail-on ${failOn}: no report written, so the gate cannot pass: ${messageOf(err)}${stale.length ? ` (${stale.join(', ')} in ${outDir} ${stale.length === 1 ? 'is' : 'are'} from an earlier report)` : ''}`,
        )
      }
      throw err
    }
    on({ kind: 'no-report', why: messageOf(err) })
    return null
  }
}
