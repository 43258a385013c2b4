import { join, resolve as resolvePath } from 'node:path'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { createAtomicStream, type AtomicStream } from '../core/atomic-write.js'
import { AppError, messageOf } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
import { HistoryStore, type HistoryAttempt } from '../store/index.js'
import type { Db } from '../store/index.js'
import { buildReport, type ReportQuery } from './model/build.js'
import type { EvidenceSource, ReportModel, UnreadableRow } from './model/types.js'

import { REPORT_FILES, type FailOn, type ReportFormat } from './formats.js'
export { FAIL_ON, REPORT_FILES, REPORT_FORMATS } from './formats.js'
export type { FailOn, ReportFormat } from './formats.js'

/** What renderers read besides the model: transcripts and, for the CSV, every attempt. */
export interface ReportSources extends EvidenceSource {
  attempts(): Iterable<HistoryAttempt>
}

type Renderer = (model: ReportModel, sources: ReportSources, out: Writable) => Promise<void>

async function renderer(format: ReportFormat): Promise<Renderer> {
  const r = await import('./render/index.js')
  const { writeHtmlReport } = await import('./render/html.js')
  const table: Record<ReportFormat, Renderer> = {
    html: (m, s, o) => writeHtmlReport(m, s, o),
    md: async (m, _s, o) => {
      await new Promise<void>((resolve, reject) =>
        o.write(r.renderMarkdown(m), (err) => (err ? reject(err) : resolve())),
      )
    },
    csv: async (m, s, o) => {
      await r.writeAttemptsCsv(m, s.attempts(), o)
    },
    json: (m, s, o) => r.writeReportJson(m, s, o),
    junit: (m, _s, o) => r.writeJunit(m, o),
  }
  return table[format]
}

export interface WriteReportOptions extends ReportQuery {
  formats: ReportFormat[]
  outDir: string
  failOn: FailOn
}

export interface WrittenReport {
  model: ReportModel
  files: string[]
  /** Why the --fail-on condition holds, null when it does not. */
  gate: string | null
  /** Rows of the database the report could not read (transcripts read while rendering included). */
  unreadable: { rows: UnreadableRow[]; more: number }
}

/**
 * Builds the model and writes each format to its fixed file name. Each file is written beside
 * its final name and renamed into place, so a reader (a docs job, a CI step) never sees half a file;
 * on any failure the temporary file is removed (src/core/atomic-write.ts).
 */
export async function writeReport(db: Db, opts: WriteReportOptions): Promise<WrittenReport> {
  const history = new HistoryStore(db)
  const model = await buildReport(history, opts)
  const usedRuns = model.runs.map((r) => r.id)
  const sources: ReportSources = {
    transcript: (id) => history.transcript(id),
    attempts: () => history.allAttempts(usedRuns),
  }
  const dir = resolvePath(opts.outDir)
  try {
    makeDir(dir)
  } catch (err) {
    throw new AppError('REPORT_WRITE_FAILED', `cannot create the report directory ${dir}: ${messageOf(err)}`, {
      cause: err,
    })
  }
  const files: string[] = []
  for (const format of opts.formats) {
    const file = join(dir, REPORT_FILES[format])
    // Created exclusively under a random name: a link planted beside the report is never followed.
    let part: AtomicStream | null = null
    try {
      const render = await renderer(format)
      part = createAtomicStream(file)
      const out = part.stream
      // A write error (disk full, the directory removed) ends the render through finished().
      const done = finished(out)
      done.catch(() => undefined)
      await Promise.race([
        render(model, sources, out),
        done.then(() => {
          throw new Error('the file closed before the report was written')
        }),
      ])
      await part.commit()
    } catch (err) {
      await part?.abort()
      if (err instanceof AppError) throw err
      throw new AppError('REPORT_WRITE_FAILED', `cannot write ${file}: ${messageOf(err)}`, { cause: err })
    }
    files.push(file)
  }
  return { model, files, gate: gate(model, opts.failOn), unreadable: history.unreadable() }
}

/** The --fail-on condition, in words, or null when it does not hold. */
export function gate(model: ReportModel, failOn: FailOn): string | null {
  if (failOn === 'never') return null
  if (failOn === 'regression') {
    if (!model.diff) throw new AppError('USAGE', '--fail-on regression needs --baseline and --candidate')
    const r = model.diff.regressions
    return r.length
      ? `${r.length} regression(s) from ${model.diff.baseline} to ${model.diff.candidate}: ${r.map((x) => x.target).join(', ')}`
      : null
  }
  if (failOn === 'unsafe') {
    // With a diff, the candidate is what ships; without one, any firmware accepting one counts.
    const unsafe = model.diff
      ? model.diff.unsafe
      : model.cells.filter((c) => c.unsafe).map((c) => `${c.target} on ${c.key}`)
    return unsafe.length ? `${unsafe.length} must-reject target(s) accepted: ${unsafe.join(', ')}` : null
  }
  const failed = model.cells.filter((c) => c.verdict === 'fail')
  return failed.length ? `${failed.length} failed cell(s)` : null
}
