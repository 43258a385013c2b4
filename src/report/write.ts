import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve as resolvePath } from 'node:path'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { createAtomicStream, type AtomicStream } from '../core/atomic-write.js'
import { AppError, messageOf } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
import { HistoryStore, type AttemptRow } from '../store/index.js'
import type { Db } from '../store/index.js'
import { buildReport, type ReportQuery } from './model/build.js'
import { comparedCount } from './model/diff.js'
import type { EvidenceSource, ReportModel, UnreadableRow } from './model/types.js'
import { put } from './render/sink.js'

import { REPORT_FILES, type FailOn, type ReportFormat } from './formats.js'
export { DEFAULT_REPORT_FORMATS, FAIL_ON, REPORT_FILES, REPORT_FORMATS } from './formats.js'
export type { FailOn, ReportFormat } from './formats.js'

/** What renderers read besides the model: transcripts, for the CSV every attempt, for the PEM export and the docs page the CAs' DER. */
export interface ReportSources extends EvidenceSource {
  attempts(): Iterable<AttemptRow>
  certificateDer(sha256: string): Buffer | null
  untrustedAnchors(): ReadonlySet<string>
}

type Renderer = (model: ReportModel, sources: ReportSources, out: Writable) => Promise<void>

async function renderer(format: Exclude<ReportFormat, 'pem'>): Promise<Renderer> {
  const r = await import('./render/index.js')
  const { writeHtmlReport } = await import('./render/html.js')
  const table: Record<Exclude<ReportFormat, 'pem'>, Renderer> = {
    html: (m, s, o) => writeHtmlReport(m, s, o),
    md: (m, _s, o) => put(o, r.renderMarkdown(m)),
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
  /** Why the --fail-on condition holds, or why it cannot be judged; null when it does not hold. */
  gate: GateResult | null
  /** Rows of the database the report could not read (transcripts read while rendering included). */
  unreadable: { rows: UnreadableRow[]; more: number }
}

/**
 * A gate's word: `FINDINGS` (exit 1) when its condition holds, `REPORT_NO_DATA` (exit 2) when
 * it compared nothing, so cannot say the candidate passes.
 */
export interface GateResult {
  code: 'FINDINGS' | 'REPORT_NO_DATA'
  text: string
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
    certificateDer: (sha) => history.certificateForJudging(sha)?.der ?? null,
    untrustedAnchors: () => {
      const out = new Set<string>()
      for (const a of history.allAttempts(usedRuns)) if (a.anchorSource.endsWith('-untrusted')) out.add(a.anchor)
      return out
    },
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
  // `pem` is one file per firmware; every other format one file under its fixed name.
  const outputs = async (format: ReportFormat): Promise<Array<{ name: string; render: Renderer }>> => {
    if (format !== 'pem') return [{ name: REPORT_FILES[format], render: await renderer(format) }]
    const { pemFiles } = await import('./render/pem.js')
    return pemFiles(model, sources).map((f) => ({ name: f.name, render: (_m, _s, o) => put(o, f.text) }))
  }
  for (const { name, render } of (await Promise.all(opts.formats.map(outputs))).flat()) {
    const file = join(dir, name)
    // Created exclusively under a random name: a link planted beside the report is never followed.
    let part: AtomicStream | null = null
    try {
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
export function gate(model: ReportModel, failOn: FailOn): GateResult | null {
  const findings = (text: string): GateResult => ({ code: 'FINDINGS', text })
  if (failOn === 'never') return null
  if (failOn === 'regression') {
    const d = model.diff
    if (!d) throw new AppError('USAGE', '--fail-on regression needs --baseline and --candidate')
    // A gate that compared nothing has not seen the candidate pass: it cannot say "no regression".
    if (comparedCount(d) === 0)
      return {
        code: 'REPORT_NO_DATA',
        text: `nothing to compare between ${d.baseline} and ${d.candidate}: ${d.notComparable.length} not comparable (a side has no verdict${d.notComparable[0] ? `; e.g. ${d.notComparable[0].target}: ${d.notComparable[0].why.join('; ')}` : ''}), so the gate cannot say the candidate passes`,
      }
    const r = d.regressions
    return r.length
      ? findings(
          `${r.length} regression(s) from ${d.baseline} to ${d.candidate}: ${r.map((x) => `${x.target} (${sideKey(x.baselineKey)}${x.before} → ${x.baselineKey === x.candidateKey ? '' : sideKey(x.candidateKey)}${x.after}${x.chainWhy ? `: ${x.chainWhy.text}` : ''})`).join(', ')}`,
        )
      : null
  }
  if (failOn === 'unsafe') {
    // With a diff, the candidate is what ships; without one, any firmware accepting one counts.
    const unsafe = model.diff
      ? model.diff.unsafe
      : model.cells.filter((c) => c.unsafe).map((c) => `${c.target} on ${c.key}`)
    return unsafe.length ? findings(`${unsafe.length} must-reject target(s) accepted: ${unsafe.join(', ')}`) : null
  }
  const failed = model.cells.filter((c) => c.verdict === 'fail')
  return failed.length ? findings(`${failed.length} failed cell(s)`) : null
}

const sideKey = (key: string | null) => (key ? `${key} ` : '')

/**
 * Whether a report can be written to `dir`, checked before a run does any work: the nearest
 * existing level must be a directory this process may write to. With `create`, the directory is
 * made and a file written and removed in it, which also catches a read-only or special file
 * system (and root, for whom the permission bits say yes). REPORT_WRITE_FAILED otherwise.
 */
export function checkReportDir(dir: string, opts: { create: boolean }): void {
  const full = resolvePath(dir)
  const fail = (why: string, cause?: unknown): never => {
    throw new AppError('REPORT_WRITE_FAILED', `cannot write the report to ${full}: ${why}`, { cause })
  }
  let at = full
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at)
  let st
  try {
    st = statSync(at)
  } catch (err) {
    return fail(messageOf(err), err)
  }
  if (!st.isDirectory()) fail(`${at} is ${at === full ? 'not a directory' : 'a file, not a directory'}`)
  try {
    accessSync(at, constants.W_OK | constants.X_OK)
  } catch (err) {
    fail(`${at} is not writable (${messageOf(err)})`, err)
  }
  if (!opts.create) return
  // A random name created exclusively: a link planted in the directory is never followed.
  const probe = join(full, `.tlsmatrix-write-check.${randomBytes(6).toString('hex')}`)
  let made = false
  try {
    makeDir(full)
    writeFileSync(probe, '', { flag: 'wx', mode: 0o600 })
    made = true
  } catch (err) {
    fail(messageOf(err), err)
  } finally {
    if (made) rmSync(probe, { force: true })
  }
}
