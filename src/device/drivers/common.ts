import type { AtChannel } from '../at/channel.js'
import { isDeviceError } from '../errors.js'
import { classifyLines } from '../profile/classify.js'
import type { FirmwareProfile } from '../profile/profile.js'
import type { Attempt } from './driver.js'

/** The verdict of a failed request, classified through the profile's error table. */
export function failedAttempt(lines: string[], profile: FirmwareProfile, started: number, now: number, channel: AtChannel, mark: number, httpStatus: number | null = null): Attempt {
  const cls = classifyLines(lines, profile.errors)
  return {
    outcome: 'fail',
    class: cls ?? 'device',
    lines,
    httpStatus,
    bodyBytes: 0,
    durationMs: Math.round(now - started),
    transcript: channel.transcript.since(mark),
    deviceError: cls ? null : `the module's lines match no entry of the ${profile.id} error table`,
  }
}

/** A link problem (timeout, garbage, reboot, closed port): the `device` class, never a server verdict. */
export function deviceAttempt(err: unknown, started: number, now: number, channel: AtChannel, mark: number): Attempt {
  if (!isDeviceError(err)) throw err
  const lines = ((err as { lines?: string[] }).lines ?? []).slice()
  return {
    outcome: 'fail', class: 'device', lines, httpStatus: null, bodyBytes: 0, durationMs: Math.round(now - started),
    transcript: channel.transcript.since(mark), deviceError: `${err.code}: ${err.message}`,
  }
}

export function epochSeconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000))
}
