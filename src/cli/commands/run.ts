import { hostname } from 'node:os'
import { basename, dirname, join, resolve as resolvePath } from 'node:path'
import { CertCache, loadTrustStore } from '../../chain/index.js'
import type { Clock } from '../../core/clock.js'
import { AppError, isAppError, messageOf, outcome } from '../../core/errors.js'
import { jsonSafe, termSafe } from '../../core/sanitize.js'
import { parseDeviceUrl } from '../../device/index.js'
import { checkDeviceUrl, checkProfileDirs } from '../../families/index.js'
import { parseAddressMap } from '../../hosts/index.js'
import { runSurvey, STOP_GRACE_MS, type DeviceArg } from '../../pipeline/index.js'
import { parseAnchorChoice, type AnchorChoice } from '../../plan/index.js'
import { buildMatrix, failuresText, matrixText } from '../../report/index.js'
import { existsSync, statSync } from 'node:fs'
import {
  HistoryStore,
  inspectDb,
  lazyDb,
  ObservationStore,
  pruneRuns,
  RunStore,
  type Db,
  type RunRow,
} from '../../store/index.js'
import type { Io } from '../io.js'
import { surveyProgress } from '../survey-progress.js'
import { VERSION } from '../version.js'
import { hostsChange, runTargetOrder, storedTargets, type StoredTarget } from '../input/hosts-change.js'
import { readHostsFile, type HostsFile } from '../input/hosts-file.js'
import { runJson } from '../output/run-json.js'
import type { FailOn, ReportFormat } from '../../report/formats.js'
import { PREVIOUS_RUN, THIS_RUN, readRunSpec, specPaths } from '../input/run-spec.js'
import type { GateResult } from '../../report/write.js'
import { gateError, reportSummary, unreadableWarnings } from './report.js'

export interface RunOptions {
  hosts?: string
  device: string[]
  profiles: string[]
  /** `all`, `first`, either with `,include-untrusted` (checked by the option's parser). */
  anchors: string
  label?: string
  /** The machine the run is made on (default: its host name), kept with the run. */
  rig?: string
  db: string
  resume?: string
  resolve: string[]
  /** Absent in runs recorded before it existed (their --resume). */
  connectTo?: string[]
  trustStore: string[]
  trustStoreOnly: boolean
  aiaAllowPrivate: boolean
  concurrency: number
  timeoutMs: number
  deviceTimeoutMs: number
  json: boolean
  /** Resume even though the hosts file changed since the run began. */
  force?: boolean
  /** Long names of the options given on the command line (not defaults), to refuse what --resume would ignore. */
  given?: string[]
  /** What to tell the user when the run stops early (the demo's lab is gone by then). */
  stoppedHint?: string
  /** Write the run's report here when it ends, also early. */
  report?: string
  reportFormat?: ReportFormat[]
  /** The report's diff (the demo compares SPWF04SA 1.0.0 with 1.1.0); `previous-run` and `this-run` are resolved when the run ends. */
  reportDiff?: { baseline: string; candidate: string }
  /** The report's gate: exit 1 when it holds (the run itself complete). */
  failOn?: FailOn
  reportExpiryDays?: number
  /** A run spec (JSON or YAML): every flag given on the command line overrides it. */
  spec?: string
  /** Check the spec and inputs, print what would run, touch no device and no database. */
  dryRun?: boolean
  /** From a spec: after a complete run, delete runs older than this many days (see pruneRuns). */
  retentionDays?: number
  /** Device time each device may spend on attempts; the rest is recorded as not run (`budget`). */
  deviceBudgetMinutes?: number
}

/** With --resume the run's own options are used; these may still be given. */
const RESUME_FLAGS = new Set(['--db', '--resume', '--json', '--force', '--report', '--report-format'])

/** Remembers the run the survey creates, so a second Ctrl-C can mark it. */
class TrackedRuns extends RunStore {
  current: string | null = null
  /** Set for a new run: the rig is the command's fact, not the survey's, so it is stamped here. */
  rig: string | null = null
  override createRun(run: RunRow): void {
    super.createRun({ ...run, rig: run.rig ?? this.rig })
    this.current = run.id
  }
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

/** `tlsmatrix run`: exit 0 complete, 1 complete with expect= mismatches, 3 device lost or interrupted. */
export async function runCommand(given: RunOptions, io: Io, clock: Clock): Promise<void> {
  if (given.spec && given.resume)
    throw new AppError('USAGE', '--spec starts a new run; --resume finishes one as it was started: give one of them')
  const opts = given.spec ? await withSpec(given, io) : given
  const dbPath = resolvePath(io.cwd, opts.db)
  if (opts.dryRun) {
    if (opts.resume) throw new AppError('USAGE', '--dry-run checks a new run; it cannot be combined with --resume')
    const checked = await checkInputs(opts, io)
    await checkReport(opts.report, io, false)
    io.stdout.write(`${jsonSafe(JSON.stringify(dryRunPlan(opts, checked, dbPath), null, 2))}
`)
    return
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
  // A run to resume lives in an existing database: nothing is created to find that out.
  if (opts.resume && (!existsSync(dbPath) || statSync(dbPath).size === 0))
    throw new AppError('RUN_NOT_RESUMABLE', `no database at ${dbPath}: run ${opts.resume} cannot be resumed from it`)
  inspectDb(dbPath)
  // Opened at first use, after the devices are taken: a run refused there leaves no database behind.
  const handle = lazyDb(dbPath)
  const db = handle.db
  try {
    const runs = new TrackedRuns(db, dbPath)
    runs.rig = opts.rig ?? hostname()
    const resume = opts.resume ? runs.getRun(opts.resume) : null
    if (opts.resume && !resume) throw new AppError('RUN_NOT_RESUMABLE', `no run ${opts.resume} in ${dbPath}`)
    if (resume?.kind === 'learn')
      throw new AppError('USAGE', `run ${resume.id} is a learn run; use tlsmatrix learn --resume ${resume.id}`)
    if (resume?.status === 'complete') throw new AppError('RUN_NOT_RESUMABLE', `run ${resume.id} is already complete`)
    const o = resume ? { ...opts, ...(resume.options as Partial<RunOptions>), json: opts.json, db: opts.db } : opts
    checked ??= await checkInputs(o, io)
    // Where the resumed run's report goes (--report now, else the run's own): writable before any work.
    if (resume) await checkReport(new Set(opts.given ?? []).has('--report') ? opts.report : o.report, io, true)
    const { devices, profileDirs, hosts } = checked
    if (resume) {
      const stored = Array.isArray(resume.options.targets) ? (resume.options.targets as StoredTarget[]) : null
      const change = hostsChange({ hash: resume.hostsHash, plan: resume.plan, targets: stored }, hosts)
      if (change && !opts.force)
        throw new AppError(
          'HOSTS_CHANGED',
          `${hosts.path} changed since run ${resume.id} began: ${change}. Restore it, start a new run, or add --force to resume ${resume.plan ? 'with the plan made then' : 'planned from the current file'}.`,
        )
      // Stopped before its plan was stored, the run has no plan to keep: it is planned now.
      if (change)
        io.stderr.write(
          `warning: ${hosts.path} changed since the run began (${change}); --force: ${resume.plan ? 'resuming with the plan made then (targets added since are not surveyed)' : 'the run had no plan yet, so it is planned from the current hosts file'}\n`,
        )
    }
    const resolveMap = parseAddressMap({ resolve: o.resolve, connectTo: o.connectTo ?? [] })
    const cache = new CertCache()
    const trustFiles = o.trustStore.map((f) => resolvePath(io.cwd, f))
    const store = await loadTrustStore({ files: trustFiles, only: o.trustStoreOnly }, cache)
    const hint = (id: string | null) =>
      `${id ? `run ${id} interrupted; ` : ''}${opts.stoppedHint ?? (id ? `finish it with:\n  tlsmatrix run --resume ${id} --db ${dbPath}` : 'no run was created yet')}\n`
    // One stop for the whole survey: resolution and device work both watch it.
    const stop = new AbortController()
    void io.interrupted.then(() => {
      stop.abort()
      io.stderr.write(
        `\nstopping: nothing new starts; a request in flight gets ${(io.stopGraceMs ?? STOP_GRACE_MS) / 1000} s to end, then is recorded as not run (interrupted), to be made again when the run is resumed (Ctrl-C again leaves now; the run is kept as interrupted)\n`,
      )
    })
    io.onInsist?.(() => {
      const id = opts.resume ?? runs.current
      // Synchronous (better-sqlite3): the mark is on disk before the process leaves.
      if (id && runs.getRun(id)?.status === 'running')
        runs.updateRun(id, { status: 'interrupted', endedAt: clock.now().toISOString() })
      io.stderr.write(`\n${hint(id)}`)
      return 3
    })
    const p = surveyProgress(io)
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
        observations: new ObservationStore(db, dbPath),
        runs,
        clock,
        stopping: () => stop.signal.aborted,
        ...(io.stopGraceMs !== undefined ? { stopGraceMs: io.stopGraceMs } : {}),
        observer: p,
        onPhase: p.phase,
        emulator: io.emulator,
      },
    )
    p.end()
    if (result.status === 'interrupted' && !runs.getRun(result.runId)) {
      // Stopped during resolution, before the run was created: there is nothing to resume.
      throw outcome(
        'INTERRUPTED',
        'interrupted before the run began (no device was used); nothing to resume, start it again',
      )
    }
    const attempts = runs.attempts(result.runId)
    // The run's own targets (its plan), not the file as it is now: --force may have added some.
    const stored = runs.getRun(result.runId)?.plan ?? null
    const matrix = buildMatrix(
      result.devices,
      attempts,
      runTargetOrder(stored, hosts.targets),
      result.status === 'complete' ? null : { plan: stored },
    )
    if (o.json) {
      io.stdout.write(`${jsonSafe(JSON.stringify(runJson(result, attempts, matrix), null, 2))}\n`)
    } else {
      io.stdout.write(`${matrixText(matrix)}\n`)
      const why = failuresText(attempts)
      if (why) io.stdout.write(`\nwhy:\n${why}\n`)
      const lost = result.devices.filter((d) => d.lost)
      for (const d of lost) io.stdout.write(`\ndevice ${termSafe(d.label)} lost: ${termSafe(d.lost ?? '')}\n`)
      const finals = attempts.filter((a) => a.final)
      const verdicts = finals.filter((a) => a.outcome === 'pass' || a.outcome === 'fail').length
      // A CA left out as untrusted is no test that failed to run: counted apart, as the report does.
      const leftOut = finals.filter((a) => a.outcome === 'not-run' && a.reason?.reason === 'untrusted-anchor').length
      const skipped = leftOut ? `, ${leftOut} CA(s) not uploaded (served root in no trust store)` : ''
      io.stdout.write(
        `\nrun ${result.runId} ${result.status}: ${verdicts} verdicts (pass/fail), ${finals.length - verdicts - leftOut} not run${skipped}, recorded in ${dbPath}\n`,
      )
    }
    // A resumed run ends as it was started (its report, gate and retention), unless --report/--report-format say otherwise now.
    const cli = new Set(opts.given ?? [])
    const ending: RunOptions = resume
      ? {
          ...o,
          ...(cli.has('--report') ? { report: opts.report } : {}),
          ...(cli.has('--report-format') ? { reportFormat: opts.reportFormat } : {}),
        }
      : opts
    const gate = ending.report
      ? await reportRun(db, result.runId, result.status === 'complete', ending, o, io, clock)
      : null
    // After the report, which may compare with a run the retention would remove; only after a complete run.
    if (ending.retentionDays !== undefined && result.status === 'complete') {
      const pruned = pruneRuns(db, dbPath, { days: ending.retentionDays, now: clock.now(), keep: result.runId })
      if (pruned.runs.length)
        io.stderr.write(
          `retention (${ending.retentionDays} days): deleted ${pruned.runs.length} run(s), ${pruned.attempts} attempt(s), ${pruned.observations} observation(s); the latest complete run of each firmware is kept\n`,
        )
    }
    if (result.status !== 'complete') {
      io.stderr.write(
        `run ${result.runId} ${result.status}; ${opts.stoppedHint ?? `finish it with:\n  tlsmatrix run --resume ${result.runId} --db ${dbPath}`}\n`,
      )
      throw outcome(result.status === 'interrupted' ? 'INTERRUPTED' : 'DEVICE_LOST')
    }
    if (gate) throw gateError(ending.failOn ?? 'never', gate)
    if (matrix.mismatches.length > 0) throw outcome('FINDINGS')
  } finally {
    handle.close()
  }
}

/**
 * `--report DIR`: the run's report, also when it ended early (what it found is worth reading, and
 * the report says the run is incomplete). A run stopped before any verdict has nothing to show;
 * a report that cannot be written fails a complete run (exit 2) but never hides why a run
 * stopped early. A gate (`--fail-on`) never passes without a report: with no data for it, or
 * nothing compared, a complete run exits 2.
 */
async function reportRun(
  db: Db,
  runId: string,
  complete: boolean,
  opts: RunOptions,
  o: RunOptions,
  io: Io,
  clock: Clock,
): Promise<GateResult | null> {
  const { writeReport, DEFAULT_REPORT_FORMATS, REPORT_FILES } = await import('../../report/write.js')
  const to = o.json ? io.stderr : io.stdout
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
  if (opts.reportDiff && (!baseline || !candidate)) {
    // The first night has no last night: a report without a diff, and nothing for a gate to judge.
    io.stderr.write(`no ${opts.reportDiff.baseline} to compare with: the report has no diff this time\n`)
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
      tags: [],
      expiryDays: opts.reportExpiryDays ?? 90,
      title: o.label ?? null,
      now: clock.now(),
      formats: opts.reportFormat ?? [...DEFAULT_REPORT_FORMATS],
      outDir: resolvePath(io.cwd, opts.report!),
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
      io.stderr.write(`no diff this time: ${termSafe(messageOf(err))}\n`)
      written = await write(false)
    }
    to.write(`\n${reportSummary(written, io.cwd)}\n`)
    io.stderr.write(unreadableWarnings(written))
    return complete ? written.gate : null
  } catch (err) {
    const gate = failOn !== 'never'
    if (complete && (gate || !isAppError(err, 'REPORT_NO_DATA'))) {
      if (gate && isAppError(err, 'REPORT_NO_DATA')) {
        // Files an earlier report left there are named: a CI step must not publish them as tonight's.
        const outDir = resolvePath(io.cwd, opts.report!)
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
    io.stderr.write(`no report written: ${termSafe(messageOf(err))}\n`)
    return null
  }
}

/** `--report DIR` can be written, checked before any work (`create`: made, and a file written in it). */
async function checkReport(dir: string | undefined, io: Io, create: boolean): Promise<void> {
  if (!dir) return
  const { checkReportDir } = await import('../../report/write.js')
  checkReportDir(resolvePath(io.cwd, dir), { create })
}

/** The options a spec gives, under every flag given on the command line. */
async function withSpec(opts: RunOptions, io: Io): Promise<RunOptions> {
  const { spec: raw, path } = await readRunSpec(opts.spec!, io.cwd)
  const spec = specPaths(raw, path)
  const cli = new Set(opts.given ?? [])
  const take = <K extends keyof RunOptions>(
    flag: string,
    key: K,
    value: RunOptions[K] | undefined,
  ): Partial<RunOptions> => (cli.has(flag) || value === undefined ? {} : ({ [key]: value } as Partial<RunOptions>))
  const r = spec.report
  return {
    ...opts,
    ...take('--hosts', 'hosts', spec.hosts),
    ...take(
      '--device',
      'device',
      spec.devices.map((d) => (typeof d === 'string' ? d : d.label ? `${d.label}=${d.url}` : d.url)),
    ),
    ...take('--profiles', 'profiles', spec.profiles),
    ...take('--anchors', 'anchors', spec.anchors),
    ...take('--label', 'label', spec.label),
    ...take('--rig', 'rig', spec.rig),
    ...take('--db', 'db', spec.db),
    ...take('--trust-store', 'trustStore', spec.trustStore),
    ...take('--trust-store-only', 'trustStoreOnly', spec.trustStoreOnly),
    ...take('--aia-allow-private', 'aiaAllowPrivate', spec.aiaAllowPrivate),
    ...take('--resolve', 'resolve', spec.resolve),
    ...take('--connect-to', 'connectTo', spec.connectTo),
    ...take('--concurrency', 'concurrency', spec.concurrency),
    ...take('--timeout-ms', 'timeoutMs', spec.timeoutMs),
    ...take('--device-timeout-ms', 'deviceTimeoutMs', spec.deviceTimeoutMs),
    ...take('--report', 'report', r?.dir),
    ...take('--report-format', 'reportFormat', r?.formats),
    ...take('--fail-on', 'failOn', r?.failOn),
    ...(r?.baseline ? { reportDiff: { baseline: r.baseline, candidate: r.candidate ?? THIS_RUN } } : {}),
    ...(r?.expiryDays !== undefined ? { reportExpiryDays: r.expiryDays } : {}),
    ...(spec.retention ? { retentionDays: spec.retention.days } : {}),
    ...take('--device-budget-minutes', 'deviceBudgetMinutes', spec.deviceBudgetMinutes),
  }
}

/** What --dry-run prints: the run as it would start, every path resolved. */
function dryRunPlan(
  o: RunOptions,
  checked: { devices: DeviceArg[]; profileDirs: string[]; hosts: HostsFile },
  dbPath: string,
) {
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
  o: RunOptions,
  io: Io,
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
