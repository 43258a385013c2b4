import { existsSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { dirname, resolve as resolvePath } from 'node:path'
import { checkWritableBeside, writeFileAtomicSync } from '../core/atomic-write.js'
import type { Clock } from '../core/clock.js'
import { AppError, messageOf, outcome } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
import { termSafe } from '../core/sanitize.js'
import { asAppError } from '../core/system-errors.js'
import { VERSION } from '../core/version.js'
import {
  isDeviceError,
  lockDevice,
  ModuleLost,
  ModuleStopped,
  parseDeviceUrl,
  type Identity,
  type OpenedModule,
} from '../device/index.js'
import { checkDeviceUrl, checkProfileDirs, loadProfile, openModule, validateProfile } from '../families/index.js'
import { dnsNameProblem } from '../hosts/index.js'
import {
  buildProfile,
  closedPort,
  learn,
  LearnKit,
  ProbePki,
  ProbeSession,
  startProbeServer,
  workingProfile,
  type LearnEnd,
  type PriorProbe,
  type ProbeOutcome,
  type UploadOutcome,
} from '../learn/index.js'
import { newRunId } from '../pipeline/index.js'
import type { FirmwareProfile } from '../profile/index.js'
import { learnRunState, type LearnRunOptions, type RunDevice, type RunStatus } from '../store/index.js'
import type { JobIo } from './io.js'
import { RunSession } from './session.js'

export interface LearnJobOptions {
  device: string
  out?: string | undefined
  db: string
  resume?: string | undefined
  budgetMinutes?: number | undefined
  from?: string | undefined
  profiles: string[]
  labHost: string
  labListen: string
}

/** Options a resumed learn takes from its run, unless given again. */
type StoredLearn = LearnRunOptions

/** Where a learn run lives, for the command's resume hints. */
interface LearnRunRef {
  runId: string
  device: string
  dbPath: string
}

/** What a learn tells its command while it runs, in order; the command says it. */
export type LearnEvent =
  | { kind: 'stopping' }
  /** The second Ctrl-C: the run (if created) is already marked interrupted. */
  | ({ kind: 'insist' } & LearnRunRef)
  | {
      kind: 'started'
      identity: Identity
      device: string
      base: string
      runId: string
      /** Probes replayed from the earlier session of a resumed run. */
      replayed: number
    }
  | { kind: 'probe'; probe: ProbeOutcome | UploadOutcome; what: string }
  | { kind: 'recover'; what: string }
  /** The module was lost or the user stopped: the run is kept, to resume. */
  | ({ kind: 'ended-early'; status: 'interrupted' | 'device-lost'; lost: string | null } & LearnRunRef)
  /** A bug of ours stopped it: what was probed is kept, and a resume goes on from it. */
  | ({ kind: 'bug' } & LearnRunRef)
  /** Every probe is recorded but the profile could not be written: resume with another --out. */
  | ({ kind: 'unwritten' } & LearnRunRef)

export interface LearnJobResult {
  profile: FirmwareProfile
  base: FirmwareProfile
  out: string
  end: LearnEnd
}

/**
 * The learn job: measures a firmware profile from the module against a probe lab made for it and
 * writes it (valid for `run` and `emulate` at once). Every probe is an attempt of a `learn` run
 * (RunSession, as a survey's); `--resume` replays those and asks only the rest.
 */
export async function learnJob(
  opts: LearnJobOptions,
  io: JobIo,
  clock: Clock,
  on: (e: LearnEvent) => void,
): Promise<LearnJobResult> {
  const dbPath = resolvePath(io.cwd, opts.db)
  const profileDirs = opts.profiles.map((d) => resolvePath(io.cwd, d))
  // Inputs first: nothing is opened, created or asked before they are known to be good.
  if (opts.resume) RunSession.checkResumable(dbPath, `learn run ${opts.resume}`)
  parseDeviceUrl(opts.device)
  await checkProfileDirs(profileDirs)
  if (parseDeviceUrl(opts.device).kind === 'emu') await checkDeviceUrl(opts.device, { cwd: io.cwd, profileDirs })
  // A name, not an address: the module checks the probe certificates against it and sends it as SNI.
  if (isIP(opts.labHost) !== 0)
    throw new AppError(
      'USAGE',
      `--lab-host ${termSafe(opts.labHost)}: expected a DNS name that resolves to --lab-listen on the module's network, not an address (give the address as --lab-listen)`,
    )
  const why = dnsNameProblem(opts.labHost)
  if (why) throw new AppError('USAGE', `--lab-host ${termSafe(opts.labHost)}: ${termSafe(why)}`)
  if (isIP(opts.labListen) === 0)
    throw new AppError(
      'USAGE',
      `--lab-listen ${termSafe(opts.labListen)}: expected an IP address to listen on (127.0.0.1, or this machine's address on the module's network)`,
    )
  const from = opts.from ? await loadProfile(opts.from, profileDirs) : null
  const outGiven = opts.out === undefined ? null : resolvePath(io.cwd, opts.out)
  if (opts.out === '') throw new AppError('USAGE', '--out: expected a file name')
  if (outGiven) prepareOut(outGiven)

  const session = RunSession.open(dbPath)
  const held: { release: (() => void) | null; module: OpenedModule | null; close: Array<() => Promise<void>> } = {
    release: null,
    module: null,
    close: [],
  }
  try {
    let stored: StoredLearn | null = null
    let prior = new Map<string, PriorProbe>()
    const resumeRun = opts.resume ? session.resume(opts.resume, 'learn') : null
    if (resumeRun) {
      prior = new Map(
        [...learnRunState(session.db, resumeRun.id).probes]
          .filter(([, p]) => p.final)
          .map(([k, p]) => [
            k,
            { id: p.id, outcome: p.outcome, lines: p.lines, httpStatus: p.httpStatus, probe: p.probe },
          ]),
      )
      stored = resumeRun.options
    }
    const runId = resumeRun?.id ?? newRunId(clock)
    session.reserve(runId)
    const device = stored && !opts.device ? stored.device : opts.device
    const labHost = stored?.labHost ?? opts.labHost
    const labListen = stored?.labListen ?? opts.labListen
    const outPath = outGiven ?? (stored?.out ? stored.out : null)
    const ref: LearnRunRef = { runId, device, dbPath }

    session.watch(io, clock, {
      stop: () => on({ kind: 'stopping' }),
      insist: () => on({ kind: 'insist', ...ref }),
    })

    held.release = await lockDevice(device, runId)
    const server = await startProbeServer({ address: labListen })
    held.close.push(() => server.close())
    const names = {
      host: labHost,
      otherHost: `other-${labHost}`,
      nxHost: 'nx.tlsmatrix.invalid',
      port: server.port,
      closedPort: await closedPort(labListen),
    }
    const opened = await openModule(device, {
      profileDirs,
      dnsOff: true,
      emulator: io.emulator,
      driverProfile: workingProfile,
      resolve: [
        `${names.host}:${names.port}:${labListen}`,
        `${names.otherHost}:${names.port}:${labListen}`,
        `${names.host}:${names.closedPort}:${labListen}`,
      ],
    })
    held.module = opened
    const id = opened.identity
    if (resumeRun) {
      const was = resumeRun.devices[0]
      if (was && (was.module !== id.module || was.firmware !== id.firmware)) {
        throw new AppError(
          'USAGE',
          `learn run ${runId} learned ${was.module} ${was.firmware ?? '?'}; ${termSafe(device)} is ${id.module} ${id.firmware ?? '?'}. Start a new learn for it.`,
        )
      }
    }
    const base: FirmwareProfile = from ?? (stored?.from ? await loadProfile(stored.from, profileDirs) : opened.profile)
    const runDevice: RunDevice = {
      label: 'module',
      url: device,
      module: id.module,
      firmware: id.firmware,
      build: id.build,
      profile: base.id,
      warning: opened.profileWarning,
      lost: null,
    }
    const started = clock.now()
    if (!resumeRun) {
      const options: StoredLearn = {
        device,
        out: outPath,
        from: from ? (opts.from ?? null) : null,
        labHost,
        labListen,
        profiles: profileDirs,
      }
      session.runs.createRun({
        id: runId,
        label: null,
        startedAt: started.toISOString(),
        endedAt: null,
        status: 'running',
        toolVersion: VERSION,
        hostsFile: '-',
        hostsHash: '-',
        trustStoreHash: '-',
        devices: [runDevice],
        options,
        plan: null,
        kind: 'learn',
        rig: hostname(),
      })
    } else session.markRunning()
    on({ kind: 'started', identity: id, device, base: base.id, runId, replayed: prior.size })

    const probes = new ProbeSession({
      module: opened,
      server,
      runs: session.runs,
      runId,
      label: 'module',
      clock,
      stopping: () => session.stopping,
      base,
      prior,
      budgetMs: opts.budgetMinutes === undefined ? null : opts.budgetMinutes * 60_000,
      onProbe: (probe, what) => on({ kind: 'probe', probe, what }),
      onRecover: (what) => on({ kind: 'recover', what }),
    })
    const kit = new LearnKit(probes, new ProbePki(started), server, names, started)
    /** The run's end, with what the module was asked so far. */
    const endRun = (status: RunStatus, lost: string | null = null) =>
      session.end(status, clock, {
        devices: [{ ...runDevice, lost, uploads: probes.uploads, requests: probes.requests }],
      })
    let end: LearnEnd
    try {
      await probes.start()
      end = await learn(kit)
    } catch (err) {
      const status =
        err instanceof ModuleStopped || session.stopping
          ? 'interrupted'
          : err instanceof ModuleLost || isDeviceError(err)
            ? 'device-lost'
            : null
      if (status === null) {
        // A learn that cannot go on (the lab unreachable, a bug) is not left `running` for ever.
        endRun('interrupted')
        // A bug of ours: what was probed is kept, and a resume goes on from it.
        if (asAppError(err).code === 'INTERNAL') on({ kind: 'bug', ...ref })
        throw err
      }
      const lost = status === 'device-lost' ? messageOf(err) : null
      endRun(status, lost)
      on({ kind: 'ended-early', status, lost, ...ref })
      throw outcome(status === 'interrupted' ? 'INTERRUPTED' : 'DEVICE_LOST')
    }
    const cost = { uploads: probes.uploads, requests: probes.requests, deviceMs: Math.round(probes.deviceMs) }
    const profile = buildProfile({
      identity: id,
      base,
      found: kit.found,
      meta: { tool: VERSION, runId, device, at: clock.now().toISOString(), cost },
      trim: (lines) => probes.errorLines(lines),
      defaultWhy:
        end.stoppedBy === 'budget' ? `the ${opts.budgetMinutes}-minute device budget was spent` : 'not reached',
    })
    validateProfile(JSON.parse(JSON.stringify(profile)), 'the learned profile')
    const out = outPath ?? resolvePath(io.cwd, `${profile.id}.json`)
    try {
      prepareOut(out)
      writeAtomically(out, `${JSON.stringify(profile, null, 2)}\n`)
    } catch (err) {
      // Every probe has its verdict in the database: a resume with another --out writes it at once.
      endRun('interrupted')
      on({ kind: 'unwritten', ...ref })
      throw err
    }
    endRun('complete')
    return { profile, base, out, end }
  } finally {
    if (held.module) await held.module.transport.close().catch(() => undefined)
    for (const c of held.close) await c().catch(() => undefined)
    held.release?.()
    session.close()
  }
}

/**
 * The profile's directory exists (or is made), the file is not a directory, and a file can be
 * written beside it (a read-only directory or /proc is refused before the module is asked).
 */
function prepareOut(file: string): void {
  if (existsSync(file) && statSync(file).isDirectory())
    throw new AppError('USAGE', `--out ${file} is a directory; name the profile file (e.g. ${file}/my-module.json)`)
  try {
    makeDir(dirname(file))
  } catch (err) {
    throw new AppError('USAGE', `--out ${file}: cannot create its directory (${messageOf(err)})`)
  }
  try {
    checkWritableBeside(file)
  } catch (err) {
    throw new AppError('USAGE', `--out ${file}: cannot write there (${messageOf(err)})`)
  }
}

/** Written beside its name (a temporary file created exclusively) and renamed into place: a reader never sees half a profile. */
function writeAtomically(file: string, text: string): void {
  try {
    writeFileAtomicSync(file, text)
  } catch (err) {
    throw new AppError('USAGE', `--out ${file}: cannot write the profile (${messageOf(err)})`)
  }
}
