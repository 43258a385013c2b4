import { existsSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { dirname, resolve as resolvePath } from 'node:path'
import { checkWritableBeside, writeFileAtomicSync } from '../../core/atomic-write.js'
import type { Clock } from '../../core/clock.js'
import { AppError, messageOf, outcome } from '../../core/errors.js'
import { makeDir } from '../../core/make-dir.js'
import { termSafe } from '../../core/sanitize.js'
import {
  isDeviceError,
  lockDevice,
  ModuleLost,
  ModuleStopped,
  parseDeviceUrl,
  type OpenedModule,
} from '../../device/index.js'
import { type FirmwareProfile } from '../../profile/index.js'
import { checkDeviceUrl, checkProfileDirs, loadProfile, openModule, validateProfile } from '../../families/index.js'
import { dnsNameProblem } from '../../hosts/index.js'
import {
  buildProfile,
  closedPort,
  learn,
  LearnKit,
  ProbePki,
  ProbeSession,
  startProbeServer,
  workingProfile,
  type PriorProbe,
  type ProbeOutcome,
  type UploadOutcome,
} from '../../learn/index.js'
import { newRunId } from '../../pipeline/index.js'
import { inspectDb, lazyDb, learnRunState, RunStore, type RunDevice, type RunStatus } from '../../store/index.js'
import type { Io } from '../io.js'
import { learnJson, learnText } from '../output/learn-text.js'
import { VERSION } from '../version.js'

export interface LearnOptions {
  device: string
  out?: string
  db: string
  resume?: string
  budgetMinutes?: number
  from?: string
  profiles: string[]
  labHost: string
  labListen: string
  json: boolean
}

/** Options a resumed learn takes from its run, unless given again. */
interface StoredLearn {
  device: string
  out: string | null
  from: string | null
  labHost: string
  labListen: string
  profiles: string[]
}

/**
 * `tlsmatrix learn`: measures a firmware profile from the module against a probe lab made for
 * it, writes it (valid for `run` and `emulate` at once) and prints how it differs from the base.
 * Every probe is an attempt of a `learn` run; `--resume` replays those and asks only the rest.
 */
export async function learnCommand(opts: LearnOptions, io: Io, clock: Clock): Promise<void> {
  const dbPath = resolvePath(io.cwd, opts.db)
  const profileDirs = opts.profiles.map((d) => resolvePath(io.cwd, d))
  // Inputs first: nothing is opened, created or asked before they are known to be good.
  let stored: StoredLearn | null = null
  let prior = new Map<string, PriorProbe>()
  let resumeRun: ReturnType<typeof learnRunState>['run'] | null = null
  if (opts.resume) {
    if (!existsSync(dbPath) || statSync(dbPath).size === 0)
      throw new AppError(
        'RUN_NOT_RESUMABLE',
        `no database at ${dbPath}: learn run ${opts.resume} cannot be resumed from it`,
      )
  }
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
  inspectDb(dbPath)

  const handle = lazyDb(dbPath)
  const held: { release: (() => void) | null; module: OpenedModule | null; close: Array<() => Promise<void>> } = {
    release: null,
    module: null,
    close: [],
  }
  let stopping = false
  try {
    const runs = new RunStore(handle.db, dbPath)
    if (opts.resume) {
      const state = learnRunState(handle.db, opts.resume)
      resumeRun = state.run
      if (resumeRun.status === 'complete')
        throw new AppError('RUN_NOT_RESUMABLE', `learn run ${resumeRun.id} is already complete`)
      prior = new Map(
        [...state.probes]
          .filter(([, p]) => p.final)
          .map(([k, p]) => [
            k,
            { id: p.id, outcome: p.outcome, lines: p.lines, httpStatus: p.httpStatus, note: p.note },
          ]),
      )
      stored = resumeRun.options as unknown as StoredLearn
    }
    const runId = resumeRun?.id ?? newRunId(clock)
    const device = stored && !opts.device ? stored.device : opts.device
    const labHost = stored?.labHost ?? opts.labHost
    const labListen = stored?.labListen ?? opts.labListen
    const outPath = outGiven ?? (stored?.out ? stored.out : null)

    void io.interrupted.then(() => {
      stopping = true
      io.stderr.write(
        '\nstopping: the probe in flight finishes, nothing new starts (Ctrl-C again leaves now; the learn run is kept as interrupted)\n',
      )
    })
    const hint = `finish it with:\n  tlsmatrix learn --resume ${runId} --device ${device} --db ${dbPath}\n`
    io.onInsist?.(() => {
      if (runs.getRun(runId)?.status === 'running')
        runs.updateRun(runId, { status: 'interrupted', endedAt: clock.now().toISOString() })
      io.stderr.write(`\nlearn run ${runId} interrupted; ${hint}`)
      return 3
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
      driverProfile: workingProfile,
      emulator: io.emulator,
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
      runs.createRun({
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
        options: options as unknown as Record<string, unknown>,
        plan: null,
        kind: 'learn',
        rig: hostname(),
      })
    } else runs.updateRun(runId, { status: 'running', endedAt: null })
    io.stderr.write(
      `learn: ${id.module} ${id.firmware ?? '(version unknown)'}${id.build ? ` build ${termSafe(id.build)}` : ''} on ${termSafe(device)}, compared with ${base.id}; run ${runId}${prior.size ? ` (resumed: ${prior.size} probes already done)` : ''}\n`,
    )

    const session = new ProbeSession({
      module: opened,
      server,
      runs,
      runId,
      label: 'module',
      clock,
      stopping: () => stopping,
      base,
      prior,
      budgetMs: opts.budgetMinutes === undefined ? null : opts.budgetMinutes * 60_000,
      onProbe: (p, what) => io.stderr.write(`  ${progressLine(p, what)}\n`),
      onRecover: (w) => io.stderr.write(`  (module reset: ${termSafe(w).slice(0, 160)})\n`),
    })
    const kit = new LearnKit(session, new ProbePki(started), server, names, started)
    /** The run's end, with what the module was asked so far. */
    const endRun = (status: RunStatus, lost: string | null = null) =>
      runs.updateRun(runId, {
        status,
        endedAt: clock.now().toISOString(),
        devices: [{ ...runDevice, lost, uploads: session.uploads, requests: session.requests }],
      })
    let end: Awaited<ReturnType<typeof learn>>
    try {
      await session.start()
      end = await learn(kit)
    } catch (err) {
      const status =
        err instanceof ModuleStopped || stopping
          ? 'interrupted'
          : err instanceof ModuleLost || isDeviceError(err)
            ? 'device-lost'
            : null
      if (status === null) {
        // A learn that cannot go on (the lab unreachable, a bug) is not left `running` for ever.
        endRun('interrupted')
        throw err
      }
      endRun(status, status === 'device-lost' ? messageOf(err) : null)
      io.stderr.write(
        `learn run ${runId} ${status}${status === 'device-lost' ? `: ${termSafe(messageOf(err))}` : ''}; ${hint}`,
      )
      throw outcome(status === 'interrupted' ? 'INTERRUPTED' : 'DEVICE_LOST')
    }
    const cost = { uploads: session.uploads, requests: session.requests, deviceMs: Math.round(session.deviceMs) }
    const profile = buildProfile({
      identity: id,
      base,
      found: kit.found,
      meta: { tool: VERSION, runId, device, at: clock.now().toISOString(), cost },
      trim: (lines) => session.errorLines(lines),
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
      io.stderr.write(
        `learn run ${runId}: the profile could not be written; write it elsewhere with:\n  tlsmatrix learn --resume ${runId} --device ${device} --db ${dbPath} --out OTHER_FILE\n`,
      )
      throw err
    }
    endRun('complete')
    io.stdout.write(
      opts.json
        ? `${JSON.stringify(learnJson(profile, base, out, end), null, 2)}\n`
        : learnText(profile, base, out, end),
    )
  } finally {
    if (held.module) await held.module.transport.close().catch(() => undefined)
    for (const c of held.close) await c().catch(() => undefined)
    held.release?.()
    handle.close()
  }
}

function progressLine(p: ProbeOutcome | UploadOutcome, what: string): string {
  if ('accepted' in p)
    return `${p.id}: ${p.accepted ? 'taken' : 'refused'}${p.lines.length && !p.accepted ? ` (${termSafe(p.lines.join(' / ')).slice(0, 100)})` : ''}${p.attemptId === null ? '' : ''}`
  const said = p.errorLines.length ? ` (${termSafe(p.errorLines.join(' / ')).slice(0, 100)})` : ''
  return `${p.id}: ${p.outcome}${p.outcome === 'fail' ? said : ''}${p.replayed ? ' [from the earlier session]' : ''} — ${termSafe(what).slice(0, 80)}`
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
