import { isIP } from 'node:net'
import { DeviceError, isDeviceError } from '../device/errors.js'
import { familyOf } from '../families/index.js'
import type { OpenedModule } from '../device/open.js'
import { fail, isUnread, ok, skipped, unknown, unreadText, type Step } from '../device/doctor-step.js'
import { throwAwayCa } from './test-ca.js'

const MS = 3000
/** The module's clock ticks on its own from the moment it is set; a minute apart is a clock that was not set. */
const CLOCK_SLACK_S = 60

export const LINK_FIX =
  'the line loses or damages answers: check wiring, ground, the baud rate and flow control (?rtscts=1 only when RTS/CTS are wired)'

/** No complete, well-formed answer: the caller resynchronises and asks again, never a verdict. */
export function isLinkFault(err: unknown): boolean {
  return isDeviceError(err) && ['AT_TIMEOUT', 'AT_GARBAGE', 'AT_REBOOTED', 'AT_BUSY'].includes(err.code)
}

/** A module's refusal is the step's answer; a link fault goes up to be retried. */
function refused(m: OpenedModule, step: Step['step'], err: unknown): Step {
  if (!isDeviceError(err) || isLinkFault(err)) throw err
  return fail(step, err.message, familyOf(m.identity.dialect).doctor.answerFix)
}

/** Echo off and full error lines, set as a run sets them and read back. */
export async function consoleStep(m: OpenedModule, now: Date): Promise<Step> {
  try {
    await m.driver.prepare(now)
    return await familyOf(m.identity.dialect).doctor.console(m.channel, MS)
  } catch (err) {
    return refused(m, 'console', err)
  }
}

/** The clock the run sets (certificate validity is judged by it), read back. */
export async function clockStep(m: OpenedModule, setTo: Date): Promise<Step> {
  try {
    const read = await familyOf(m.identity.dialect).doctor.readClock(m.channel, MS)
    if (!read)
      return unknown(
        'clock',
        `set to ${setTo.toISOString()}; this firmware has no way to say what its clock reads`,
        'certificate dates are checked against this clock: a run sets it before every survey',
      )
    if (isUnread(read))
      return unknown(
        'clock',
        `set to ${setTo.toISOString()}; could not read it back: ${unreadText(read)}`,
        'certificate dates are checked against this clock: update the firmware if it cannot report it',
      )
    const off = Math.round((read.getTime() - setTo.getTime()) / 1000)
    if (Math.abs(off) > CLOCK_SLACK_S)
      return fail(
        'clock',
        `set to ${setTo.toISOString()}, reads ${read.toISOString()}`,
        'the module does not keep the time it is given: update the firmware or report this module',
      )
    return ok('clock', `set to ${setTo.toISOString()}, reads back ${read.toISOString()}`)
  } catch (err) {
    return refused(m, 'clock', err)
  }
}

/** Joined and addressed: the module's own status variables. */
export async function wifiStep(m: OpenedModule): Promise<Step> {
  try {
    const doctor = familyOf(m.identity.dialect).doctor
    const read = await doctor.readWifi(m.channel, MS)
    // A refusal says nothing about the network: neither joined nor not joined.
    if (isUnread(read))
      return unknown(
        'wifi',
        `could not read the address: ${unreadText(read)}`,
        `if it has not joined: ${doctor.joinFix}`,
      )
    const { ip, state } = read
    const stateText = state !== null ? `wifi_state ${state}, ` : ''
    if (!ip || isIP(ip) === 0 || ip === '0.0.0.0')
      return fail('wifi', `not joined: ${stateText}no address`, doctor.joinFix)
    return ok('wifi', `joined, ${stateText}address ${ip}`)
  } catch (err) {
    return refused(m, 'wifi', err)
  }
}

/**
 * DNS as the module does it: an HTTPS request to the probe host, judged only by whether it got past
 * the name (any later outcome, even a TLS failure, means the name resolved). Only when asked.
 */
export async function dnsStep(m: OpenedModule, probeHost: string | undefined, wifiUp: boolean | null): Promise<Step> {
  if (!probeHost) return skipped('dns', 'not checked: give --probe-host NAME (nothing leaves the bench unless asked)')
  if (wifiUp === false) return skipped('dns', 'not checked: no Wi-Fi')
  const doctor = familyOf(m.identity.dialect).doctor
  const a = await m.driver.httpsGet({ host: probeHost, port: 443, path: '/' })
  if (a.class === 'dns') return fail('dns', `${probeHost} did not resolve: ${a.lines.at(-1) ?? ''}`, doctor.dnsFix)
  // The module's answer is the same for every failure (ESP-AT before 5.0 says ERROR alone, no
  // +ERRNO): it cannot tell a name that did not resolve from a refused chain.
  if (a.class === 'unspecified')
    return unknown(
      'dns',
      `could not tell whether ${probeHost} resolved: the request failed with ${JSON.stringify(a.lines.join(' | ').slice(0, 200))}, which this firmware says for any failure, a DNS failure included`,
      doctor.dnsByHand ?? 'ask with a --probe-host the module reaches (a passing request proves the name resolved)',
    )
  if (a.class === 'device' && a.fault === 'link')
    throw new DeviceError('AT_GARBAGE', `no verdict from the request to ${probeHost}: ${a.deviceError ?? ''}`)
  if (a.class === 'device')
    return fail(
      'dns',
      `the module's answer to the request to ${probeHost} is not in its error table: ${a.lines.at(-1) ?? ''}`,
      "add the line to the firmware profile's error table",
    )
  return ok(
    'dns',
    `${probeHost} resolved (the request went on: ${a.outcome === 'pass' ? `HTTP ${a.httpStatus ?? '-'}` : a.class})`,
  )
}

/** The store takes a CA and says which key it holds; emptied again afterwards. */
export async function caStep(m: OpenedModule, now: Date): Promise<Step> {
  try {
    const ca = await throwAwayCa(now)
    await m.driver.clean()
    const up = await m.driver.uploadCa(ca.der)
    await m.driver.clean()
    if (!familyOf(m.identity.dialect).doctor.caReportsKeyId)
      return ok('ca', `took a ${ca.der.length}-byte CA (this firmware reports no key id)`)
    if (up.ski === null)
      return unknown(
        'ca',
        `took a ${ca.der.length}-byte CA; its answer names no key id, so what the store holds could not be compared`,
        null,
      )
    if (up.ski !== ca.ski)
      return fail(
        'ca',
        `took a CA with key id ${ca.ski}, reports ${up.ski ?? '(none)'}`,
        'the store does not hold what was sent: report this module',
      )
    return ok('ca', `took a ${ca.der.length}-byte CA, reports its key id ${up.ski}`)
  } catch (err) {
    return refused(m, 'ca', err)
  }
}
