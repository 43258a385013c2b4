import type { Clock } from '../../core/clock.js'
import { reportJob, type ReportJobOptions } from '../../jobs/report.js'
import type { FailOn, ReportFormat } from '../../report/formats.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { gateError, reportSummary, unreadableWarnings } from '../output/report-text.js'

/** `tlsmatrix report`'s options, one field per flag (see cli/run.ts). */
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
 * `tlsmatrix report`: renders the history in the database (src/jobs/report.ts). Exit 0; 1 when
 * the --fail-on condition holds (after every file is written); 2 for a missing or unusable
 * database, a selector with no data, or an unwritable directory.
 */
export async function reportCommand(opts: ReportOptions, io: Io, clock: Clock): Promise<void> {
  const written = await reportJob(forwardAll<ReportJobOptions>()(opts), io, clock)
  io.stdout.write(`${reportSummary(written, io.cwd)}\n`)
  io.stderr.write(unreadableWarnings(written))
  if (written.gate) throw gateError(opts.failOn, written.gate)
}
