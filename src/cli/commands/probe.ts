import { resolve as resolvePath } from 'node:path'
import type { Clock } from '../../core/clock.js'
import { AppError, outcome } from '../../core/errors.js'
import { type Attempt } from '../../device/index.js'
import { checkDeviceUrl, checkProfileDirs, familyOf, openModule } from '../../families/index.js'
import { readCaFile } from '../input/ca-file.js'
import { parseAddressMap, parseHosts } from '../../hosts/index.js'
import type { Io } from '../io.js'
import { jsonSafe, termSafe } from '../../core/sanitize.js'

export interface ProbeOptions {
  device: string
  ca?: string
  target?: string
  resolve: string[]
  connectTo?: string[]
  profiles: string[]
  json: boolean
}

/**
 * `tlsmatrix probe`: one module, by hand. Identify it; with --ca and --target, clean its store,
 * upload the CA and ask for one HTTPS GET, printing the module's own lines. The first thing to
 * run on a real module (/dev/ttyUSB0) before a survey.
 */
export async function probeCommand(opts: ProbeOptions, io: Io, clock: Clock): Promise<void> {
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
    if (ca.note) io.stderr.write(`${ca.note}\n`)
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
    const info = { device: opts.device, ...m.identity, profile: m.profile.id, warning: m.profileWarning }
    let attempt: Attempt | null = null
    let ski: string | null = null
    if (target && caDer) {
      await step(m.driver.prepare(clock.now()))
      await step(m.driver.clean())
      ski = (await step(m.driver.uploadCa(caDer))).ski
      attempt = await step(m.driver.httpsGet(target))
    }
    if (opts.json) io.stdout.write(`${jsonSafe(JSON.stringify({ ...info, caSki: ski, attempt }, null, 2))}\n`)
    else {
      io.stdout.write(
        `${termSafe(opts.device)}: ${m.identity.module} firmware ${m.identity.firmware ?? '?'} build ${m.identity.build ?? '?'} (profile ${m.profile.id})\n`,
      )
      if (m.profileWarning) io.stdout.write(`warning: ${m.profileWarning}\n`)
      if (attempt) {
        // ESP-AT answers an upload with OK only: "(none)" would read as a failed key id read-back.
        if (familyOf(m.identity.dialect).doctor.caReportsKeyId)
          io.stdout.write(`CA uploaded, module says SubjectKeyId ${ski ?? '(none)'}\n`)
        else io.stdout.write('CA uploaded (this firmware reports no key id)\n')
        io.stdout.write(
          `GET https://${termSafe(target!.host)}:${target!.port}${termSafe(target!.path)}: ${attempt.outcome}${attempt.class ? ` (${attempt.class})` : ''}, HTTP ${attempt.httpStatus ?? '-'}, ${attempt.durationMs} ms\n`,
        )
        for (const l of attempt.lines) io.stdout.write(`  ${termSafe(l)}\n`)
        if (attempt.deviceError) io.stdout.write(`  link: ${termSafe(attempt.deviceError)}\n`)
      }
    }
    if (attempt?.outcome === 'fail') throw outcome('FINDINGS')
  } finally {
    await m.transport.close()
  }
}
