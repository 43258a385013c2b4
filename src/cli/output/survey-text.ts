import { outcome } from '../../core/errors.js'
import { jsonSafe, termSafe } from '../../core/sanitize.js'
import type { SurveyEvent, SurveyJobResult, SurveyWatch } from '../../jobs/run.js'
import type { AttemptRow } from '../../store/index.js'
import { failuresText, matrixText } from '../../report/index.js'
import type { Io } from '../io.js'
import { surveyProgress } from '../survey-progress.js'
import { gateError, reportSummary, unreadableWarnings } from './report-text.js'
import { runJson } from './run-json.js'

/** How a survey's command speaks: `run` and `demo` say the same things, but resume differently. */
export interface SurveyVoice {
  json: boolean
  /** What to do about a run that stopped early, when `tlsmatrix run --resume` is not it (the demo's lab is gone by then). */
  stoppedHint?: string
}

const resumeHint = (voice: SurveyVoice, runId: string | null, dbPath: string): string =>
  voice.stoppedHint ??
  (runId ? `finish it with:\n  tlsmatrix run --resume ${runId} --db ${dbPath}` : 'no run was created yet')

/** The survey's progress on stderr and its events in words (the matrix, or its JSON, on stdout). */
export function surveyWatch(io: Io, voice: SurveyVoice): SurveyWatch {
  const p = surveyProgress(io)
  return {
    observer: p,
    onPhase: (text) => p.phase(text),
    onSurveyEnd: () => p.end(),
    on: (e) => writeSurveyEvent(e, io, voice),
  }
}

export function writeSurveyEvent(e: SurveyEvent, io: Io, voice: SurveyVoice): void {
  switch (e.kind) {
    case 'stopping':
      io.stderr.write(
        `\nstopping: nothing new starts; a request in flight gets ${e.graceMs / 1000} s to end, then is recorded as not run (interrupted), to be made again when the run is resumed (Ctrl-C again leaves now; the run is kept as interrupted)\n`,
      )
      return
    case 'insist':
      io.stderr.write(`\n${e.runId ? `run ${e.runId} interrupted; ` : ''}${resumeHint(voice, e.runId, e.dbPath)}\n`)
      return
    case 'stopped':
      io.stderr.write(`\nrun ${e.runId} ${e.status}; ${resumeHint(voice, e.runId, e.dbPath)}\n`)
      return
    case 'hosts-forced':
      io.stderr.write(
        `warning: ${e.file} changed since the run began (${e.change}); --force: ${e.planKept ? 'resuming with the plan made then (targets added since are not surveyed)' : 'the run had no plan yet, so it is planned from the current hosts file'}\n`,
      )
      return
    case 'surveyed':
      return writeSurveyed(e, io, voice)
    case 'no-baseline':
      io.stderr.write(`no ${e.selector} to compare with: the report has no diff this time\n`)
      return
    case 'no-diff':
      io.stderr.write(`no diff this time: ${termSafe(e.why)}\n`)
      return
    case 'report':
      ;(voice.json ? io.stderr : io.stdout).write(`\n${reportSummary(e.written, io.cwd)}\n`)
      io.stderr.write(unreadableWarnings(e.written))
      return
    case 'no-report':
      io.stderr.write(`no report written: ${termSafe(e.why)}\n`)
      return
    case 'pruned':
      io.stderr.write(
        `retention (${e.days} days): deleted ${e.pruned.runs.length} run(s), ${e.pruned.attempts} attempt(s), ${e.pruned.observations} observation(s); the latest complete run of each firmware is kept\n`,
      )
      return
  }
}

/** The matrix with why each cell failed, and one line on the run; or, with --json, the run as JSON. */
function writeSurveyed(e: Extract<SurveyEvent, { kind: 'surveyed' }>, io: Io, voice: SurveyVoice): void {
  const { result, attempts, matrix } = e
  if (voice.json) {
    io.stdout.write(`${jsonSafe(JSON.stringify(runJson(result, attempts, matrix), null, 2))}\n`)
    return
  }
  io.stdout.write(`${matrixText(matrix)}\n`)
  const why = failuresText(attempts)
  if (why) io.stdout.write(`\nwhy:\n${why}\n`)
  const lost = result.devices.filter((d) => d.lost)
  for (const d of lost)
    io.stdout.write(
      // A device never opened (no module identified) was not lost mid-way: --resume tries to open it again.
      d.module === null
        ? `\ndevice ${termSafe(d.label)} not opened (--resume tries it again): ${termSafe((d.lost ?? '').replace(/^cannot open: /, ''))}\n`
        : `\ndevice ${termSafe(d.label)} lost: ${termSafe(d.lost ?? '')}\n`,
    )
  const finals = attempts.filter((a) => a.final)
  const verdicts = finals.filter((a) => a.outcome === 'pass' || a.outcome === 'fail').length
  // A CA left out as untrusted is no test that failed to run: counted apart, as the report does.
  const leftOut = finals.filter((a) => a.outcome === 'not-run' && a.reason?.reason === 'untrusted-anchor').length
  const skipped = leftOut ? `, ${leftOut} CA(s) not uploaded (served root in no trust store)` : ''
  const undone = undoneText(attempts)
  io.stdout.write(
    `\nrun ${result.runId} ${result.status}: ${verdicts} verdicts (pass/fail), ${finals.length - verdicts - leftOut} not run${skipped}${undone}, recorded in ${e.dbPath}\n`,
  )
}

/**
 * Work left undone (a lost device, a stopped run): items with no final attempt whose last try was
 * recorded as not run, by reason. They are no finding (--resume does them), but they were recorded:
 * a run that lost its device says how many, not "0 not run".
 */
function undoneText(attempts: readonly AttemptRow[]): string {
  const key = (a: AttemptRow) => `${a.device}\u0000${a.target}\u0000${a.anchor}`
  const ended = new Set(attempts.filter((a) => a.final).map(key))
  const last = new Map<string, AttemptRow>()
  for (const a of attempts) if (!ended.has(key(a))) last.set(key(a), a)
  const by = new Map<string, number>()
  for (const a of last.values()) {
    if (a.outcome !== 'not-run') continue
    const why = a.reason?.reason === 'device-lost' ? 'device lost' : (a.reason?.reason ?? 'not done')
    by.set(why, (by.get(why) ?? 0) + 1)
  }
  const n = [...by.values()].reduce((x, y) => x + y, 0)
  if (n === 0) return ''
  return `, ${n} not done (${[...by].map(([why, k]) => (by.size > 1 ? `${k} ${why}` : why)).join(', ')}; --resume does ${n === 1 ? 'it' : 'them'})`
}

/**
 * The survey's outcome as the command's: a run --dry-run printed; a run that ended early says how
 * to finish it (exit 3); a gate that holds exits 1 (or 2 with nothing compared); expect=
 * mismatches exit 1.
 */
export function endSurvey(r: SurveyJobResult, io: Io, voice: SurveyVoice): void {
  if (r.kind === 'dry-run') {
    io.stdout.write(`${jsonSafe(JSON.stringify(r.plan, null, 2))}\n`)
    return
  }
  if (r.status !== 'complete') {
    io.stderr.write(`run ${r.runId} ${r.status}; ${resumeHint(voice, r.runId, r.dbPath)}\n`)
    throw outcome(r.status === 'interrupted' ? 'INTERRUPTED' : 'DEVICE_LOST')
  }
  if (r.gate) throw gateError(r.failOn, r.gate)
  if (r.mismatches > 0) throw outcome('FINDINGS')
}
