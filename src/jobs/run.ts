import { hostname } from 'node:os'
import { basename, dirname, resolve as resolvePath } from 'node:path'
import { CertCache, loadTrustStore } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { AppError, outcome } from '../core/errors.js'
import { VERSION } from '../core/version.js'
import { parseDeviceUrl } from '../device/index.js'
import { checkDeviceUrl, checkProfileDirs } from '../families/index.js'
import { parseAddressMap } from '../hosts/index.js'
import { runSurvey, STOP_GRACE_MS, type DeviceArg, type SurveyObserver, type SurveyResult } from '../pipeline/index.js'
import { parseAnchorChoice, type AnchorChoice } from '../plan/index.js'
import type { FailOn, ReportFormat } from '../report/formats.js'
import { buildMatrix, type Matrix } from '../report/index.js'
import type { GateResult } from '../report/write.js'
import { ObservationStore, pruneRuns, type AttemptRow, type Pruned, type RunStatus } from '../store/index.js'
import { hostsChange, runTargetOrder, storedTargets } from './hosts-change.js'
import { readHostsFile, type HostsFile } from './hosts-file.js'
import type { JobIo } from './io.js'
import { checkDiffSides, checkReport, reportRun, type RunReportEvent } from './report.js'
import { RunSession } from './session.js'

/** A survey as `run` (and the demo) asks for it; a resumed run takes the rest from the run itself. */
export interface SurveyOptions {
  hosts?: string | undefined
  device: string[]
  profiles: string[]
  /** `all`, `first`, either with `,include-untrusted`. */
  anchors: string
  label?: string | undefined
  /** The machine the run is made on (default: its host name), kept with the run. */
  rig?: string | undefined
  db: string
  resume?: string | undefined
  resolve: string[]
  /** Absent in runs recorded before it existed (their --resume). */
  connectTo?: string[] | undefined
  trustStore: string[]
  trustStoreOnly: boolean
  aiaAllowPrivate: boolean
  concurrency: number
  timeoutMs: number
  deviceTimeoutMs: number
  /** Resume even though the hosts file changed since the run began. */
  force?: boolean | undefined
  /** Long names of the options given on the command line (not defaults), to refuse what --resume would ignore. */
  given?: string[] | undefined
  /** Write the run's report here when it ends, also early. */
  report?: string | undefined
  reportFormat?: ReportFormat[] | undefined
  /** The report's diff (the demo compares SPWF04SA 1.0.0 with 1.1.0); `previous-run` and `this-run` are resolved when the run ends. */
  reportDiff?: { baseline: string; candidate: string } | undefined
  /** The report's gate: exit 1 when it holds (the run itself complete). */
  failOn?: FailOn | undefined
  reportExpiryDays?: number | undefined
  /** Check the inputs, return what would run, touch no device and no database. */
  dryRun?: boolean | undefined
  /** After a complete run, delete runs older than this many days (see pruneRuns). */
  retentionDays?: number | undefined
  /** Device time each device may spend on attempts; the rest is recorded as not run (`budget`). */
  deviceBudgetMinutes?: number | undefined
}

/** With --resume the run's own options are used; these may still be given. */
const RESUME_FLAGS = new Set(['--db', '--resume', '--json', '--force', '--report', '--report-format'])

/** What a survey tells its command while it runs, in order; the command says it. */
export type SurveyEvent =
  | { kind: 'stopping'; graceMs: number }
  /** The second Ctrl-C: the run (if created) is already marked interrupted. */
  | { kind: 'insist'; runId: string | null; dbPath: string }
  /** --force: resuming although the hosts file changed. */
  | { kind: 'hosts-forced'; file: string; change: string; planKept: boolean }
  /** The survey is over (complete or not): its matrix, before the report is written. */
  | { kind: 'surveyed'; result: SurveyResult; attempts: AttemptRow[]; matrix: Matrix; dbPath: string }
  | RunReportEvent
  | { kind: 'pruned'; days: number; pruned: Pruned }
  /**
   * An error stopped the run once it existed (a bug of ours, the database failing, no device
   * opening on a resume): the run is kept with this status, and the error follows.
   */
  | { kind: 'stopped'; runId: string; status: RunStatus; dbPath: string }

export interface SurveyWatch {
  on: (e: SurveyEvent) => void
  /** Progress of the devices and of the phases (opening, resolving, planning). */
  observer?: SurveyObserver
  onPhase?: (text: string) => void
  /** The survey's work is over (before its run is read back): progress may stop drawing. */
  onSurveyEnd?: () => void
}

/** What --dry-run returns: the run as it would start, every path resolved. */
export interface DryRunPlan {
  hosts: { file: string; targets: number }
  devices: DeviceArg[]
  profiles: string[]
  anchors: string
  label: string | null
  rig: string
  db: string
  retentionDays: number | null
  deviceBudgetMinutes: number | null
  report: {
    dir: string
    formats: ReportFormat[] | null
    failOn: FailOn
    diff: { baseline: string; candidate: string } | null
    expiryDays: number
  } | null
}

export type SurveyJobResult =
  | { kind: 'dry-run'; plan: DryRunPlan }
  | {
      kind: 'run'
      runId: string
      status: RunStatus
      dbPath: string
      /** The report gate's word (a complete run with --fail-on and a report), else null. */
      gate: GateResult | null
      failOn: FailOn
      /** expect= mismatches in the matrix. */
      mismatches: number
    }

/** A port's file name; for a pseudo-terminal (`/dev/pts/3`) with its folder, as a bare `3` names nothing. */
const portLabel = (path: string): string =>
  /^\d+$/.test(basename(path)) ? `${basename(dirname(path))}${basename(path)}` : basename(path)

/** `--device [LABEL=]URL`: the label names the column in reports; by default it comes from the URL. */
export function parseDeviceArgs(args: readonly string[]): DeviceArg[] {
  const out: DeviceArg[] = []
  for (const arg of args) {
    const m = /^([A-Za-z0-9_.-]{1,40})=(.+)$/.exec(arg)
    const url = m ? m[2]! : arg
    const u = parseDeviceUrl(url)
    let label = m
      ? m[1]!
      : u.kind === 'emu'
        ? basename(u.profile).replace(/\.json$/, '')
        : u.kind === 'tcp'
          ? `${u.host}:${u.port}`
          : portLabel(u.path)
    if (!m) for (let n = 2; out.some((d) => d.label === label); n++) label = `${label.replace(/#\d+$/, '')}#${n}`
    if (out.some((d) => d.label === label)) throw new AppError('USAGE', `--device label "${label}" is used twice`)
    out.push({ label, url })
  }
  return out
}

/**
 * The survey job: the inputs checked, a run created or resumed (RunSession), the survey, then
 * what the run does when it ends: its report, the report's gate, the retention. Throws for usage
 * and input errors (before any device or database is touched), and INTERRUPTED when stopped
 * before the run began; a run that ended early is returned with its status, for the command to
 * say how to resume it.
 */
export async function surveyJob(
  opts: SurveyOptions,
  io: JobIo,
  clock: Clock,
  watch: SurveyWatch,
): Promise<SurveyJobResult> {
  const dbPath = resolvePath(io.cwd, opts.db)
  // A report diff of a selector with itself would judge nothing: refused before any work.
  checkDiffSides(opts.reportDiff?.baseline, opts.reportDiff?.candidate, ['report.baseline', 'report.candidate'])
  if (opts.dryRun) {
    if (opts.resume) throw new AppError('USAGE', '--dry-run checks a new run; it cannot be combined with --resume')
    const checked = await checkInputs(opts, io)
    await checkReport(opts.report, io, false)
    return { kind: 'dry-run', plan: dryRunPlan(opts, checked, dbPath) }
  }
  if (opts.resume) {
    const ignored = (opts.given ?? []).filter((f) => !RESUME_FLAGS.has(f))
    if (ignored.length > 0)
      throw new AppError(
        'USAGE',
        `--resume runs the survey as it was started; it would ignore ${ignored.join(', ')}. Drop ${ignored.length === 1 ? 'it' : 'them'}, or start a new run.`,
      )
  }
  // Everything the command line names is checked before a database is touched (with --resume,
  // once the run's own options are read, still before anything is resolved).
  let checked = opts.resume ? null : await checkInputs(opts, io)
  if (!opts.resume) await checkReport(opts.report, io, true)
  if (opts.resume) RunSession.checkResumable(dbPath, `run ${opts.resume}`)
  const session = RunSession.open(dbPath, { rig: opts.rig })
  try {
    const resume = opts.resume ? session.resume(opts.resume, 'survey') : null
    // The run's own options, read through their schema by the store.
    const o: SurveyOptions = resume ? { ...opts, ...resume.options, db: opts.db } : opts
    checked ??= await checkInputs(o, io)
    const cli = new Set(opts.given ?? [])
    // Where the resumed run's report goes (--report now, else the run's own): writable before any work.
    if (resume) await checkReport(cli.has('--report') ? opts.report : o.report, io, true)
    const { devices, profileDirs, hosts } = checked
    if (resume) {
      const stored = resume.options.targets ?? null
      const change = hostsChange({ hash: resume.hostsHash, plan: resume.plan, targets: stored }, hosts)
      if (change && !opts.force)
        throw new AppError(
          'HOSTS_CHANGED',
          `${hosts.path} changed since run ${resume.id} began: ${change}. Restore it, start a new run, or add --force to resume ${resume.plan ? 'with the plan made then' : 'planned from the current file'}.`,
        )
      // Stopped before its plan was stored, the run has no plan to keep: it is planned now.
      if (change) watch.on({ kind: 'hosts-forced', file: hosts.path, change, planKept: resume.plan !== null })
    }
    const resolveMap = parseAddressMap({ resolve: o.resolve, connectTo: o.connectTo ?? [] })
    const cache = new CertCache()
    const trustFiles = o.trustStore.map((f) => resolvePath(io.cwd, f))
    const store = await loadTrustStore({ files: trustFiles, only: o.trustStoreOnly }, cache)
    // One stop for the whole survey: resolution and device work both watch it.
    session.watch(io, clock, {
      stop: () => watch.on({ kind: 'stopping', graceMs: io.stopGraceMs ?? STOP_GRACE_MS }),
      insist: (runId) => watch.on({ kind: 'insist', runId, dbPath }),
    })
    const result = await runSurvey(
      {
        targets: hosts.targets,
        hostsFile: hosts.path,
        hostsText: hosts.text,
        devices,
        profileDirs,
        resolveEntries: o.resolve,
        connectToEntries: o.connectTo ?? [],
        resolveMap,
        store,
        cache,
        aiaAllowPrivate: o.aiaAllowPrivate,
        anchors: anchorChoice(o.anchors),
        label: o.label ?? null,
        concurrency: o.concurrency,
        timeoutMs: o.timeoutMs,
        deviceTimeoutMs: o.deviceTimeoutMs,
        ...(o.deviceBudgetMinutes !== undefined ? { deviceBudgetMs: o.deviceBudgetMinutes * 60_000 } : {}),
        toolVersion: VERSION,
        resume,
        options: {
          hosts: hosts.path,
          targets: resume ? (resume.options.targets ?? null) : storedTargets(hosts.targets),
          device: o.device,
          profiles: profileDirs,
          anchors: o.anchors,
          label: o.label,
          resolve: o.resolve,
          connectTo: o.connectTo ?? [],
          trustStore: trustFiles,
          trustStoreOnly: o.trustStoreOnly,
          aiaAllowPrivate: o.aiaAllowPrivate,
          concurrency: o.concurrency,
          timeoutMs: o.timeoutMs,
          deviceTimeoutMs: o.deviceTimeoutMs,
          deviceBudgetMinutes: o.deviceBudgetMinutes,
          // What the run does when it ends, so a resumed nightly run still writes its report and prunes.
          report: o.report ? resolvePath(io.cwd, o.report) : undefined,
          reportFormat: o.reportFormat,
          failOn: o.failOn,
          reportDiff: o.reportDiff,
          reportExpiryDays: o.reportExpiryDays,
          retentionDays: o.retentionDays,
        },
      },
      {
        observations: new ObservationStore(session.db, dbPath),
        runs: session.runs,
        clock,
        stopping: () => session.stopping,
        signal: session.signal,
        ...(io.stopGraceMs !== undefined ? { stopGraceMs: io.stopGraceMs } : {}),
        ...(watch.observer ? { observer: watch.observer } : {}),
        ...(watch.onPhase ? { onPhase: watch.onPhase } : {}),
        ...(io.emulator ? { emulator: io.emulator } : {}),
      },
    ).catch((err: unknown) => {
      const id = session.runId
      const status = id ? (session.runs.getRun(id)?.status ?? null) : null
      // Still marked running (a failure before the survey could end it): --resume finishes it all the same.
      if (id && status)
        watch.on({ kind: 'stopped', runId: id, status: status === 'running' ? 'interrupted' : status, dbPath })
      throw err
    })
    watch.onSurveyEnd?.()
    if (result.status === 'interrupted' && !session.exists(result.runId)) {
      // Stopped during resolution, before the run was created: there is nothing to resume.
      throw outcome(
        'INTERRUPTED',
        'interrupted before the run began (no device was used); nothing to resume, start it again',
      )
    }
    const attempts = session.runs.attempts(result.runId)
    // The run's own targets (its plan), not the file as it is now: --force may have added some.
    const stored = session.runs.getRun(result.runId)?.plan ?? null
    const matrix = buildMatrix(
      result.devices,
      attempts,
      runTargetOrder(stored, hosts.targets),
      result.status === 'complete' ? null : { plan: stored },
    )
    watch.on({ kind: 'surveyed', result, attempts, matrix, dbPath })
    // A resumed run ends as it was started (its report, gate and retention), unless --report/--report-format say otherwise now.
    const ending: SurveyOptions = resume
      ? {
          ...o,
          ...(cli.has('--report') ? { report: opts.report } : {}),
          ...(cli.has('--report-format') ? { reportFormat: opts.reportFormat } : {}),
        }
      : opts
    const complete = result.status === 'complete'
    const gate = ending.report
      ? await reportRun(
          session.db,
          { id: result.runId, complete, title: o.label ?? null },
          { ...ending, report: ending.report },
          io,
          clock,
          watch.on,
        )
      : null
    // After the report, which may compare with a run the retention would remove; only after a complete run.
    if (ending.retentionDays !== undefined && complete) {
      const pruned = pruneRuns(session.db, dbPath, { days: ending.retentionDays, now: clock.now(), keep: result.runId })
      if (pruned.runs.length) watch.on({ kind: 'pruned', days: ending.retentionDays, pruned })
    }
    return {
      kind: 'run',
      runId: result.runId,
      status: result.status,
      dbPath,
      gate,
      failOn: ending.failOn ?? 'never',
      mismatches: matrix.mismatches.length,
    }
  } finally {
    session.close()
  }
}

/** What --dry-run returns: the run as it would start, every path resolved. */
function dryRunPlan(
  o: SurveyOptions,
  checked: { devices: DeviceArg[]; profileDirs: string[]; hosts: HostsFile },
  dbPath: string,
): DryRunPlan {
  return {
    hosts: { file: checked.hosts.path, targets: checked.hosts.targets.length },
    devices: checked.devices,
    profiles: checked.profileDirs,
    anchors: o.anchors,
    label: o.label ?? null,
    rig: o.rig ?? hostname(),
    db: dbPath,
    retentionDays: o.retentionDays ?? null,
    deviceBudgetMinutes: o.deviceBudgetMinutes ?? null,
    report: o.report
      ? {
          dir: o.report,
          formats: o.reportFormat ?? null,
          failOn: o.failOn ?? 'never',
          diff: o.reportDiff ?? null,
          expiryDays: o.reportExpiryDays ?? 90,
        }
      : null,
  }
}

/** A run stored before include-untrusted existed kept `all` or `first`: both still read. */
function anchorChoice(text: string): AnchorChoice {
  const c = parseAnchorChoice(text)
  if ('problem' in c) throw new AppError('USAGE', `--anchors: ${c.problem}`)
  return c
}

/**
 * Usage errors in what the command line names (device URLs, profile directories, the hosts
 * file), found before any target is resolved or any run created.
 */
async function checkInputs(
  o: SurveyOptions,
  io: JobIo,
): Promise<{ devices: DeviceArg[]; profileDirs: string[]; hosts: HostsFile }> {
  if (!o.hosts) throw new AppError('USAGE', 'run needs --hosts FILE (or --resume RUN_ID)')
  if (o.device.length === 0) throw new AppError('USAGE', 'run needs at least one --device [LABEL=]URL')
  const devices = parseDeviceArgs(o.device)
  parseAddressMap({ resolve: o.resolve, connectTo: o.connectTo ?? [] })
  const profileDirs = o.profiles.map((d) => resolvePath(io.cwd, d))
  await checkProfileDirs(profileDirs)
  for (const d of devices) await checkDeviceUrl(d.url, { cwd: io.cwd, profileDirs })
  return { devices, profileDirs, hosts: await readHostsFile(o.hosts, io.cwd) }
}
