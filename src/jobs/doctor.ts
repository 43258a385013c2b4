import { resolve as resolvePath } from 'node:path'
import type { Clock } from '../core/clock.js'
import { AppError, outcome } from '../core/errors.js'
import { termSafe } from '../core/sanitize.js'
import { DeviceError, isDeviceError, lockDevice, parseDeviceUrl, type OpenedModule } from '../device/index.js'
import { openTcp } from '../device/transport/tcp.js'
import type { Transport } from '../device/transport/transport.js'
import {
  askAt,
  caStep,
  clockStep,
  COMMON_RATES,
  consoleStep,
  dnsStep,
  fail,
  isLinkFault,
  LINK_FIX,
  ok,
  openAt,
  portPresent,
  skipped,
  STEP_TITLES,
  urlWithBaud,
  wifiStep,
  type AtAnswer,
  type Step,
  type StepId,
} from '../doctor/index.js'
import { checkDeviceUrl, checkProfileDirs, familyOf, openModule, type FamilyDoctor } from '../families/index.js'
import { dnsNameProblem } from '../hosts/index.js'
import type { JobIo } from './io.js'

export interface DoctorJobOptions {
  device: string
  probeHost?: string | undefined
  profiles: string[]
}

/** What the bench check found: every step in order, and the module when it was opened. */
export interface DoctorResult {
  device: string
  /** The URL to use (the speed the module answered at, when the given one was wrong). */
  url: string
  /** No step failed. */
  ready: boolean
  module: {
    module: string
    firmware: string | null
    build: string | null
    profile: string
    profileWarning: string | null
  } | null
  steps: Step[]
}

/** A live module answers AT at once; this long is a wrong speed or a dead port. */
const ASK_MS = 3000

/** What is open, so Ctrl-C and the end close it whatever step was running. */
interface Held {
  transport: Transport | null
  module: OpenedModule | null
  release: (() => void) | null
}

/**
 * The doctor job: the bench check, step by step, each with its fix, as data. Each step is handed
 * to `onStep` as soon as it is known (a bench check is read while it runs); the result holds them
 * all. Throws INTERRUPTED on Ctrl-C and DEVICE_LOST when the port went away mid-check.
 */
export async function doctorJob(
  opts: DoctorJobOptions,
  io: JobIo,
  clock: Clock,
  onStep: (s: Step) => void,
): Promise<DoctorResult> {
  const u = parseDeviceUrl(opts.device)
  const notName = opts.probeHost === undefined ? null : dnsNameProblem(opts.probeHost)
  if (notName)
    throw new AppError('USAGE', `--probe-host ${termSafe(opts.probeHost!)}: expected a DNS name (${termSafe(notName)})`)
  const profileDirs = opts.profiles.map((d) => resolvePath(io.cwd, d))
  await checkProfileDirs(profileDirs)
  if (u.kind === 'emu') await checkDeviceUrl(opts.device, { cwd: io.cwd, profileDirs })

  const steps: Step[] = []
  let over = false
  const record = (s: Step) => {
    if (over) return
    steps.push(s)
    onStep(s)
  }
  // Set by the transport's onClose callback; widened so TypeScript does not take it for null forever after this line.
  let lost = null as string | null
  const held: Held = { transport: null, module: null, release: null }
  let suggested = opts.device
  let wrongBaud: { detail: string; baud: number } | null = null
  const baudStep = (family: FamilyDoctor | null) =>
    fail(
      'baud',
      wrongBaud!.detail,
      `use --device ${suggested}${family ? ` (or ${family.baudFix(wrongBaud!.baud)})` : ''}`,
    )
  const stopped = io.interrupted.then((): never => {
    throw outcome('INTERRUPTED', 'interrupted: doctor abandoned (the module is reset by the next probe or run)')
  })
  stopped.catch(() => {})
  io.onInsist?.(() => 3)

  const work = (async () => {
    const present = await portPresent(opts.device, u, io.cwd, profileDirs)
    if (present.status === 'fail') return record(present)

    if (u.kind !== 'emu') {
      try {
        held.release = await lockDevice(opts.device, `doctor-${process.pid}`)
      } catch (err) {
        if (!isDeviceError(err, 'DEVICE_BUSY')) throw err
        record(present)
        // Not opened: opening a port can reset the board under the run that holds it.
        return record(
          fail(
            'lock',
            err.message,
            'wait for that run to finish, or stop it (Ctrl-C in its terminal, or kill the pid named)',
          ),
        )
      }
    }

    if (u.kind === 'serial') {
      const first = await openAt(u.path, u.baudRate, u.rtscts)
      if ('step' in first) return record(first.step)
      record(ok('port', `${u.path} exists and opens`))
      record(ok('lock', 'no other tlsmatrix run holds it'))
      held.transport = first.transport
      let heard = await askAt(first.transport, ASK_MS)
      // The first bytes after opening a port are often noise: one more try at the given speed.
      if (heard !== 'answered') heard = await askAt(first.transport, ASK_MS)
      await first.transport.close()
      held.transport = null
      if (heard === 'answered') record(ok('baud', `AT answered at ${u.baudRate} baud`))
      else {
        const found = await searchRates(u.path, u.rtscts, u.baudRate, held)
        const what = heard === 'garbage' ? 'garbage' : 'no answer'
        if (found === null)
          return record(
            fail(
              'baud',
              `${what} to AT at ${u.baudRate} baud, nor at ${COMMON_RATES.filter((r) => r !== u.baudRate).join(', ')}`,
              "check power, TX/RX (crossed: module TX to adapter RX), ground, and that the module's console is on this UART",
            ),
          )
        suggested = urlWithBaud(opts.device, found)
        // Recorded once the module says which family it is: the command that sets its speed back is its own.
        wrongBaud = { detail: `${what} to AT at ${u.baudRate} baud; the module answers at ${found}`, baud: u.baudRate }
      }
    } else if (u.kind === 'tcp') {
      let t: Transport
      try {
        t = await openTcp(u.host, u.port)
      } catch (err) {
        if (!isDeviceError(err)) throw err
        return record(
          fail('port', err.message, 'is the serial server running and listening there (ser2net in raw mode)?'),
        )
      }
      held.transport = t
      record(ok('port', `${u.host}:${u.port} accepts a connection`))
      record(ok('lock', 'no other tlsmatrix run holds it'))
      const heard: AtAnswer = await askAt(t, ASK_MS)
      await t.close()
      held.transport = null
      if (heard !== 'answered')
        return record(
          fail(
            'baud',
            `${heard === 'garbage' ? 'garbage' : 'no answer'} to AT through the serial server`,
            "set the serial server's port to the module's speed (115200 8N1 unless changed) and check the wiring",
          ),
        )
      record(ok('baud', 'AT answered through the serial server (it sets the line speed)'))
    }

    let m: OpenedModule
    try {
      m = await openModule(suggested, { profileDirs, emulator: io.emulator })
    } catch (err) {
      if (!isDeviceError(err)) throw err
      if (wrongBaud) record(baudStep(null))
      if (u.kind === 'emu') return record(fail('port', err.message, "see the emulator's words above"))
      return record(
        fail(
          'module',
          err.message,
          err.code === 'PROFILE_NOT_FOUND'
            ? 'add a firmware profile for it (--profiles DIR; see docs/profiles.md)'
            : 'the module answers AT but not the next commands: reset it (power) and check the line for noise',
        ),
      )
    }
    held.module = m
    if (wrongBaud) record(baudStep(familyOf(m.identity.dialect).doctor))
    m.transport.onClose((err) => {
      lost = `${m.transport.describe} closed${err ? `: ${err.message}` : ''}`
    })
    if (u.kind === 'emu') {
      record(ok('port', `${m.transport.describe} started and opened`))
      record(ok('baud', `AT answered at ${u.params.get('baud') ?? 115200} baud`))
    }
    const id = m.identity
    record(
      ok(
        'module',
        `${id.module} firmware ${id.firmware ?? '?'} build ${id.build ?? '?'}: profile ${m.profile.id}${m.profileWarning ? ' (fallback)' : ''}`,
        m.profileWarning ? `${m.profileWarning}; add a profile for it (--profiles DIR) for exact verdicts` : null,
      ),
    )

    const checks: Array<[StepId, () => Promise<Step>]> = []
    let consoleOk = false
    // null: the module would not say (the DNS step then asks anyway).
    let wifiUp: boolean | null = false
    // The clock the console step set, and the restarts seen by then: a restart since loses it (and
    // the console settings), so the clock step sets it again rather than blame the module's clock.
    let setAt = clock.now()
    let rebootsAtSet = m.driver.reboots()
    const setConsole = async () => {
      setAt = clock.now()
      rebootsAtSet = m.driver.reboots()
      return consoleStep(m, setAt)
    }
    checks.push(['console', setConsole])
    checks.push([
      'clock',
      async () => {
        if (!consoleOk) return skipped('clock', 'not checked: the console settings failed')
        if (m.driver.reboots() !== rebootsAtSet) {
          const again = await setConsole()
          if (again.status === 'fail')
            return fail('clock', `the module restarted, and setting it up again failed: ${again.detail}`, again.fix)
        }
        return clockStep(m, setAt)
      },
    ])
    checks.push(['wifi', async () => wifiStep(m)])
    checks.push(['dns', async () => dnsStep(m, opts.probeHost, wifiUp)])
    checks.push(['ca', async () => caStep(m, clock.now())])
    let lineFailed: StepId | null = null
    for (const [id, check] of checks) {
      // Past a step the line itself failed, every later one would fail the same way, only slower.
      if (lineFailed) {
        record(skipped(id, `not checked: the line failed at the ${STEP_TITLES[lineFailed]} step`))
        continue
      }
      const { linkFailed, ...s } = await withRetries(id, check, m, () => lost !== null)
      if (linkFailed) lineFailed = id
      // Unknown: the settings were taken, only their read-back refused; the clock can still be checked.
      if (id === 'console') consoleOk = s.status === 'ok' || s.status === 'unknown'
      if (id === 'wifi') wifiUp = s.status === 'ok' ? true : s.status === 'unknown' ? null : false
      if (lost) {
        record(fail(s.step, lost, 'the port went away: check the cable and power, then run doctor again'))
        throw outcome('DEVICE_LOST', `device lost: ${lost}`)
      }
      record(s)
    }
  })()
  work.catch(() => {}) // abandoned on Ctrl-C: it fails later, when its port is closed

  try {
    await Promise.race([work, stopped])
  } finally {
    over = true
    await held.transport?.close().catch(() => {})
    await held.module?.transport.close().catch(() => {})
    held.release?.()
  }

  const mod = held.module
  return {
    device: opts.device,
    url: suggested,
    ready: !steps.some((s) => s.status === 'fail'),
    module: mod
      ? {
          module: mod.identity.module,
          firmware: mod.identity.firmware,
          build: mod.identity.build,
          profile: mod.profile.id,
          profileWarning: mod.profileWarning,
        }
      : null,
    steps,
  }
}

/**
 * A link fault (no complete answer) is not the module's answer: resynchronise and ask again, as a
 * run does; after three, the step fails on the line, not on the module.
 */
async function withRetries(
  id: StepId,
  check: () => Promise<Step>,
  m: OpenedModule,
  gone: () => boolean,
): Promise<Step & { linkFailed?: true }> {
  let last: unknown
  for (let i = 0; i < 3 && !gone(); i++) {
    try {
      const before = m.driver.reboots()
      const s = await check()
      // A restart in the middle voids what the step read (settings, clock, store): ask again.
      if (m.driver.reboots() !== before) throw new DeviceError('AT_REBOOTED', 'the module restarted during the step')
      return i === 0 ? s : { ...s, detail: `${s.detail} (asked ${i + 1} times: ${(last as Error).message})` }
    } catch (err) {
      if (!isLinkFault(err)) throw err
      last = err
      // A module that cannot even be brought back to answering is not asked again.
      const back = await m.driver.resync(gone).then(
        () => true,
        () => false,
      )
      if (!back) break
    }
  }
  return { ...fail(id, (last as Error | undefined)?.message ?? 'the port closed', LINK_FIX), linkFailed: true }
}

/** The other common rates, slowest first; the first that gets a final line back. */
async function searchRates(path: string, rtscts: boolean, tried: number, held: Held): Promise<number | null> {
  for (const rate of COMMON_RATES) {
    if (rate === tried) continue
    const opened = await openAt(path, rate, rtscts)
    if ('step' in opened) return null
    held.transport = opened.transport
    try {
      if ((await askAt(opened.transport, ASK_MS)) === 'answered') return rate
    } finally {
      await opened.transport.close()
      held.transport = null
    }
  }
  return null
}
