import type { AtChannel } from '../at/channel.js'
import { DeviceError, isDeviceError } from '../errors.js'
import { classifyResponse, damage } from '../../profile/classify.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import type { Attempt } from './driver.js'

/**
 * The verdict of a failed request, classified through the profile's error table only when the
 * response is complete and well-formed; a damaged one is a link fault, never a class.
 */
export function failedAttempt(
  lines: string[],
  profile: FirmwareProfile,
  started: number,
  now: number,
  channel: AtChannel,
  mark: number,
  httpStatus: number | null = null,
  judged: readonly string[] = lines,
): Attempt {
  const c = classifyResponse(judged, profile)
  const base = {
    outcome: 'fail' as const,
    lines,
    httpStatus,
    bodyBytes: 0,
    durationMs: Math.round(now - started),
    transcript: channel.transcript.since(mark),
  }
  if (c.kind === 'class') return { ...base, class: c.class, deviceError: null, fault: null }
  if (c.kind === 'damaged') return { ...base, class: 'device', deviceError: `AT_DAMAGED: ${c.why}`, fault: 'link' }
  return {
    ...base,
    class: 'device',
    deviceError: `the module's lines match no entry of the ${profile.id} error table`,
    fault: 'unrecognized',
  }
}

/** A pass stands only on a well-formed response; a damaged one is a link fault. */
export function passedAttempt(
  a: Omit<Attempt, 'outcome' | 'class' | 'deviceError' | 'fault'>,
  profile: FirmwareProfile,
  moduleLines: readonly string[] = a.lines,
): Attempt {
  const why = damage(moduleLines, profile)
  if (why) return { ...a, outcome: 'fail', class: 'device', deviceError: `AT_DAMAGED: ${why}`, fault: 'link' }
  return { ...a, outcome: 'pass', class: null, deviceError: null, fault: null }
}

/** A link problem (timeout, garbage, reboot, closed port): the `device` class, never a server verdict. */
export function deviceAttempt(err: unknown, started: number, now: number, channel: AtChannel, mark: number): Attempt {
  if (!isDeviceError(err)) throw err
  const lines = [...err.lines]
  return {
    outcome: 'fail',
    class: 'device',
    lines,
    httpStatus: null,
    bodyBytes: 0,
    durationMs: Math.round(now - started),
    transcript: channel.transcript.since(mark),
    deviceError: `${err.code}: ${err.message}`,
    fault: 'link',
  }
}

/** Counts restarts seen on the wire, whenever they arrive (the worker re-prepares after one). */
export function rebootCounter(channel: AtChannel, isReboot: (line: string) => boolean): () => number {
  let n = 0
  channel.onWind((line) => {
    if (isReboot(line)) n++
  })
  return () => n
}

export function epochSeconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000))
}

export interface DriverTimeouts {
  commandMs: number
  httpMs: number
  resetMs: number
}

export const DEFAULT_TIMEOUTS: DriverTimeouts = { commandMs: 3000, httpMs: 60_000, resetMs: 15_000 }

/** Sends a command and returns its informational lines, or throws AT_ERROR with the final line. */
export async function expectOk(
  channel: AtChannel,
  cmd: string,
  timeoutMs: number,
  payload?: Buffer,
): Promise<string[]> {
  const r = await channel.exec(cmd, { timeoutMs, ...(payload ? { payload } : {}) })
  if (!r.ok) throw new DeviceError('AT_ERROR', `${cmd.slice(0, 60)}: ${r.final}`, { lines: [...r.lines, r.final] })
  return r.lines
}

/**
 * A command whose answer carries a line no other command's does: after polls that may have timed
 * out, its answer proves that the next answer read is the next command's. Where a server's bytes
 * may still be on the line (an in-band HTTP body), the line must be one no server can write: a
 * fresh random value the `before` commands gave the module (see SyncProbes).
 */
export interface SyncProbe {
  /** Sent first, their answers not judged (one may be a server's line); e.g. setting the value. */
  before?: readonly string[]
  command: string
  line: RegExp
}

/** A fixed probe, or a new one (a new random value) for each try. */
export type SyncProbes = SyncProbe | (() => SyncProbe)

/**
 * Reset: ask for it, wait for the boot banner's console indication, then resynchronise (`resync`).
 * A module that printed garbage or hung gets the same treatment.
 */
export async function resetAndResync(
  channel: AtChannel,
  cmd: string,
  ready: RegExp,
  t: DriverTimeouts,
  probe: SyncProbes,
  stop: () => boolean = () => false,
): Promise<void> {
  const stopped = () => new DeviceError('DEVICE_STOPPED', `reset abandoned: the run is stopping`)
  if (stop()) throw stopped()
  channel.note(`reset: ${cmd}`)
  channel.resync()
  let giveUp = () => {}
  const booted = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), t.resetMs)
    // The user's Ctrl-C must not wait for a module that will never boot.
    const poll = setInterval(() => {
      if (stop()) done(false)
    }, 50)
    const done = (ok: boolean) => {
      clearTimeout(timer)
      clearInterval(poll)
      off()
      resolve(ok)
    }
    const off = channel.onWind((line) => {
      if (ready.test(line)) done(true)
    })
    giveUp = () => done(false)
  })
  // The module may reboot before it answers OK: either outcome is fine here; a closed port is not.
  await channel.exec(cmd, { timeoutMs: Math.min(2000, t.resetMs), expectReboot: true }).catch((err: unknown) => {
    if (!isDeviceError(err, 'AT_CLOSED')) return
    giveUp()
    throw err
  })
  const sawBanner = await booted
  await resync(channel, probe, t, stop, `after ${cmd}${sawBanner ? '' : ' and no boot banner'}`)
}

/**
 * Reads one status variable: the value `pattern` captures, or null when the module answers (well
 * formed) without it or with an error. A damaged or missing answer is asked again, because a
 * version misread on a noisy line would pick the wrong profile and so the wrong verdicts.
 */
export async function readVariable(
  channel: AtChannel,
  cmd: string,
  pattern: RegExp,
  timeoutMs: number,
  tries = 3,
): Promise<string | null> {
  return (await readVariableAnswer(channel, cmd, pattern, timeoutMs, tries)).value
}

/**
 * readVariable, and when there is no value, what the module said instead (its whole answer on one
 * line, bounded): the doctor quotes it rather than read a refusal as a value.
 */
export async function readVariableAnswer(
  channel: AtChannel,
  cmd: string,
  pattern: RegExp,
  timeoutMs: number,
  tries = 3,
): Promise<{ value: string } | { value: null; said: string }> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      // A late answer to an earlier command carries no such line: set it aside (an ERROR is taken:
      // older firmware refuses some variables).
      const r = await channel.exec(cmd, { timeoutMs, accept: (a) => !a.ok || a.lines.some((l) => pattern.test(l)) })
      const all = [...r.lines, r.final]
      if (all.every((l) => /^[\x20-\x7e]*$/.test(l))) {
        const said = { value: null, said: all.filter(Boolean).join(' | ').slice(0, 200) }
        if (!r.ok) return said
        for (const l of r.lines) {
          const m = pattern.exec(l)
          if (m?.[1]) return { value: m[1] }
        }
        return said
      }
      last = new DeviceError('AT_GARBAGE', `${cmd}: damaged answer ${JSON.stringify(all).slice(0, 120)}`)
    } catch (err) {
      if (!isDeviceError(err)) throw err
      last = err
    }
    channel.resync()
  }
  throw last
}

/**
 * Poll `AT` until the module answers, then the probe: after a link fault the module may be
 * mid-answer, waiting for payload bytes, or answering late; when this returns, the next answer
 * read is the next command's. Throws DEVICE_RESET_FAILED when the module stays silent.
 */
export async function resync(
  channel: AtChannel,
  probes: SyncProbes,
  t: DriverTimeouts,
  stop: () => boolean = () => false,
  context = '',
): Promise<void> {
  const deadline = performance.now() + t.resetMs
  for (;;) {
    if (stop()) throw new DeviceError('DEVICE_STOPPED', 'resynchronisation abandoned: the run is stopping')
    channel.resync()
    try {
      const r = await channel.exec('AT', { timeoutMs: 1000 })
      if (r.ok) {
        channel.takeStray()
        const probe = typeof probes === 'function' ? probes() : probes
        for (const cmd of probe.before ?? []) await channel.exec(cmd, { timeoutMs: t.commandMs })
        // A poll that timed out on a slow machine may still be answered: set such answers aside
        // until the probe's own, or every later answer would be read one command late.
        await channel.exec(probe.command, {
          timeoutMs: t.commandMs,
          accept: (a) => a.ok && a.lines.some((l) => probe.line.test(l)),
        })
        return
      }
    } catch (err) {
      // Not yet; but a closed port never answers.
      if (isDeviceError(err, 'AT_CLOSED')) throw err
    }
    if (performance.now() > deadline) {
      throw new DeviceError(
        'DEVICE_RESET_FAILED',
        `no answer to AT${context ? ` ${context}` : ''} within ${t.resetMs} ms`,
      )
    }
  }
}
