import { resolve as resolvePath } from 'node:path'
import type { Clock } from '../core/clock.js'
import { AppError, outcome } from '../core/errors.js'
import type { Attempt, Identity } from '../device/index.js'
import { checkDeviceUrl, checkProfileDirs, familyOf, openModule } from '../families/index.js'
import { parseAddressMap, parseHosts } from '../hosts/index.js'
import { readCaFile } from './ca-file.js'
import type { JobIo } from './io.js'

export interface ProbeJobOptions {
  device: string
  ca?: string | undefined
  target?: string | undefined
  resolve: string[]
  connectTo?: string[] | undefined
  profiles: string[]
}

export interface ProbeJobResult {
  device: string
  identity: Identity
  profile: string
  warning: string | null
  /** With --ca and --target: the key id the module reported for the CA, and the GET it made. */
  caSki: string | null
  attempt: Attempt | null
  target: { host: string; port: number; path: string } | null
  /** Whether this firmware reports a key id for an uploaded CA at all. */
  caReportsKeyId: boolean
}

/**
 * The probe job: one module, by hand. Identify it; with --ca and --target, clean its store,
 * upload the CA and ask for one HTTPS GET. `onCaNote` says which certificate of a bundle is used.
 */
export async function probeJob(
  opts: ProbeJobOptions,
  io: JobIo,
  clock: Clock,
  onCaNote: (note: string) => void,
): Promise<ProbeJobResult> {
  let target: { host: string; port: number; path: string } | null = null
  if (opts.target) {
    const parsed = parseHosts(
      opts.target.replace(
        /^([^/\s]+)(\/\S*)?$/,
        (_m, hp: string, path?: string) => `${hp}${path ? ` path=${path}` : ''}`,
      ),
      '--target',
    )
    const t = parsed.targets[0]
    if (!t || parsed.problems.length)
      throw new AppError(
        'USAGE',
        `--target ${opts.target}: ${parsed.problems[0]?.reason ?? 'expected host[:port][/path]'}`,
      )
    target = t
  }
  if (Boolean(opts.ca) !== Boolean(target)) throw new AppError('USAGE', '--ca and --target go together')
  let caDer: Buffer | null = null
  if (opts.ca) {
    const ca = await readCaFile(opts.ca, io.cwd)
    if (ca.note) onCaNote(ca.note)
    caDer = ca.der
  }
  // Checked here, before the device is opened: a bad entry is exit 2 naming it, not an emulator that fails to start.
  parseAddressMap({ resolve: opts.resolve, connectTo: opts.connectTo ?? [] })
  const profileDirs = opts.profiles.map((d) => resolvePath(io.cwd, d))
  await checkProfileDirs(profileDirs)
  await checkDeviceUrl(opts.device, { cwd: io.cwd, profileDirs })
  // Ctrl-C abandons the probe at once: one module by hand has nothing to record, and whatever
  // command the module is in the middle of is cleared by the next probe or run (they reset it).
  const stopped = io.interrupted.then((): never => {
    throw outcome('INTERRUPTED', 'interrupted: probe abandoned (the module is reset by the next probe or run)')
  })
  stopped.catch(() => {})
  io.onInsist?.(() => 3)
  const step = <T>(work: Promise<T>): Promise<T> => {
    work.catch(() => {}) // an abandoned step may fail later, when its transport is closed
    return Promise.race([work, stopped])
  }
  const opening = openModule(opts.device, {
    resolve: opts.resolve,
    connectTo: opts.connectTo ?? [],
    profileDirs,
    emulator: io.emulator,
  })
  let m: Awaited<typeof opening>
  try {
    m = await step(opening)
  } catch (err) {
    void opening.then((late) => late.transport.close()).catch(() => {})
    throw err
  }
  try {
    let attempt: Attempt | null = null
    let ski: string | null = null
    if (target && caDer) {
      await step(m.driver.prepare(clock.now()))
      await step(m.driver.clean())
      ski = (await step(m.driver.uploadCa(caDer))).ski
      attempt = await step(m.driver.httpsGet(target))
    }
    return {
      device: opts.device,
      identity: m.identity,
      profile: m.profile.id,
      warning: m.profileWarning,
      caSki: ski,
      attempt,
      target,
      caReportsKeyId: familyOf(m.identity.dialect).doctor.caReportsKeyId,
    }
  } finally {
    await m.transport.close()
  }
}
