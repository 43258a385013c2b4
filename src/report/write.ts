import { createWriteStream, renameSync, rmSync } from 'node:fs'
import { join, resolve as resolvePath } from 'node:path'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { AppError, messageOf } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
import { HistoryStore, type HistoryAttempt } from '../store/index.js'
import type { Db } from '../store/index.js'
import { buildReport, type ReportQuery } from './model/build.js'
import type { EvidenceSource, ReportModel } from './model/types.js'
import { put } from './render/sink.js'

import { REPORT_FILES, type FailOn, type ReportFormat } from './formats.js'
export { DEFAULT_REPORT_FORMATS, FAIL_ON, REPORT_FILES, REPORT_FORMATS } from './formats.js'
export type { FailOn, ReportFormat } from './formats.js'

/** What renderers read besides the model: transcripts, for the CSV every attempt, for the docs page the CAs' DER. */
export interface ReportSources extends EvidenceSource {
  attempts(): Iterable<HistoryAttempt>
  certificateDer(sha256: string): Uint8Array | null
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
    docs: (m, s, o) =>
      put(
        o,
        r.renderDocs(m, (sha) => s.certificateDer(sha)),
      ),
    summary: (m, _s, o) => put(o, r.renderSummary(m)),
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
}

/**
 * Builds the model and writes each format to its fixed file name. Each file is written beside
 * its final name and renamed into place, so a reader (a docs job, a CI step) never sees half a file.
 */
export async function writeReport(db: Db, opts: WriteReportOptions): Promise<WrittenReport> {
  const history = new HistoryStore(db)
  const model = await buildReport(history, opts)
  const usedRuns = model.runs.map((r) => r.id)
  const sources: ReportSources = {
    transcript: (id) => history.transcript(id),
    attempts: () => history.allAttempts(usedRuns),
    certificateDer: (sha) => history.certificateForJudging(sha)?.der ?? null,
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
    const part = `${file}.${process.pid}.part`
    try {
      const render = await renderer(format)
      const out = createWriteStream(part)
      // A write error (disk full, the directory removed) ends the render through finished().
      const done = finished(out)
      done.catch(() => undefined)
      await Promise.race([
        render(model, sources, out),
        done.then(() => {
          throw new Error('the file closed before the report was written')
        }),
      ])
      out.end()
      await done
      renameSync(part, file)
    } catch (err) {
      rmSync(part, { force: true })
      if (err instanceof AppError) throw err
      throw new AppError('REPORT_WRITE_FAILED', `cannot write ${file}: ${messageOf(err)}`, { cause: err })
    }
    files.push(file)
  }
  return { model, files, gate: gate(model, opts.failOn) }
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
