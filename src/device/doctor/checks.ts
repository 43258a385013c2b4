import { isIP } from 'node:net'
import { readVariable } from '../drivers/common.js'
import { DeviceError, isDeviceError } from '../errors.js'
import type { OpenedModule } from '../open.js'
import { fail, ok, skipped, type Step } from './step.js'
import { throwAwayCa } from './test-ca.js'

const MS = 3000
/** The module's clock ticks on its own from the moment it is set; a minute apart is a clock that was not set. */
const CLOCK_SLACK_S = 60

export const LINK_FIX = 'the line loses or damages answers: check wiring, ground, the baud rate and flow control (?rtscts=1 only when RTS/CTS are wired)'
const ANSWER_FIX = 'the module refused it (its answer above); a factory reset (AT+S.FCFG, AT+S.RESET) restores the console settings'

/** No complete, well-formed answer: the caller resynchronises and asks again, never a verdict. */
export function isLinkFault(err: unknown): boolean {
  return isDeviceError(err) && ['AT_TIMEOUT', 'AT_GARBAGE', 'AT_REBOOTED', 'AT_BUSY'].includes(err.code)
}

/** A module's refusal is the step's answer; a link fault goes up to be retried. */
function refused(step: Step['step'], err: unknown): Step {
  if (!isDeviceError(err) || isLinkFault(err)) throw err
  return fail(step, err.message, ANSWER_FIX)
}

/** Echo off and full error lines, set as a run sets them and read back. */
export async function consoleStep(m: OpenedModule, now: Date): Promise<Step> {
  try {
    await m.driver.prepare(now)
    const c = m.channel
    if (m.identity.dialect === 'spwf04') {
      const errs = await readVariable(c, 'AT+S.GCFG=console_errs', /^AT-S\.Var:console_errs=(\d+)/, MS)
      const echo = await readVariable(c, 'AT+S.GCFG=console_echo', /^AT-S\.Var:console_echo=(\d+)/, MS)
      if (errs !== '2' || echo !== '0') return fail('console', `set console_errs 2 and console_echo 0, read back ${errs ?? '(none)'} and ${echo ?? '(none)'}`, 'the firmware ignores SCFG: update it, or report this module')
      return ok('console', 'echo off, errors with code and text (console_echo 0, console_errs 2, read back)')
    }
    const echo = await readVariable(c, 'AT+S.GCFG=localecho1', /^#\s*localecho1\s*=\s*(\d+)/, MS)
    if (echo !== '0') return fail('console', `set localecho1 0, read back ${echo ?? '(none)'}`, 'the firmware ignores SCFG: update it, or report this module')
    return ok('console', 'echo off (localecho1 0, read back); this dialect has one error format')
  } catch (err) {
    return refused('console', err)
  }
}

/** The clock the run sets (certificate validity is judged by it), read back. */
export async function clockStep(m: OpenedModule, setTo: Date): Promise<Step> {
  try {
    let read: Date | null
    if (m.identity.dialect === 'spwf04') {
      const r = await m.channel.exec('AT+S.TIME', { timeoutMs: MS })
      const date = r.lines.map((l) => /^AT-S\.Date:(\d\d)\.(\d\d)\.(\d{4})/.exec(l)).find(Boolean)
      const time = r.lines.map((l) => /^AT-S\.Time:(\d\d)\.(\d\d)\.(\d\d)/.exec(l)).find(Boolean)
      read = r.ok && date && time ? new Date(Date.UTC(+date[3]!, +date[2]! - 1, +date[1]!, +time[1]!, +time[2]!, +time[3]!)) : null
    } else {
      const s = await readVariable(m.channel, 'AT+S.STS=current_time', /^#\s*current_time\s*=\s*(\d+)/, MS)
      read = s ? new Date(Number(s) * 1000) : null
    }
    if (!read) return fail('clock', 'set the clock; the module does not say what it reads', 'update the firmware: certificate dates are checked against this clock')
    const off = Math.round((read.getTime() - setTo.getTime()) / 1000)
    if (Math.abs(off) > CLOCK_SLACK_S) return fail('clock', `set to ${setTo.toISOString()}, reads ${read.toISOString()}`, 'the module does not keep the time it is given: update the firmware or report this module')
    return ok('clock', `set to ${setTo.toISOString()}, reads back ${read.toISOString()}`)
  } catch (err) {
    return refused('clock', err)
  }
}

const JOIN_FIX = 'join a network once: AT+S.SSIDTXT=<ssid>, AT+S.SCFG=wifi_wpa_psk_text,<key>, AT+S.SCFG=wifi_mode,1, AT+S.WCFG, AT+S.RESET'

/** Joined and addressed: the module's own status variables. */
export async function wifiStep(m: OpenedModule): Promise<Step> {
  try {
    const spwf04 = m.identity.dialect === 'spwf04'
    const ip = spwf04
      ? await readVariable(m.channel, 'AT+S.STS=ip_ipaddr', /^AT-S\.Var:ip_ipaddr=(\S+)/, MS)
      : await readVariable(m.channel, 'AT+S.STS=ip_ipaddr', /^#\s*ip_ipaddr\s*=\s*(\S+)/, MS)
    const state = spwf04 ? await readVariable(m.channel, 'AT+S.STS=wifi_state', /^AT-S\.Var:wifi_state=(\d+)/, MS) : null
    const stateText = state !== null ? `wifi_state ${state}, ` : ''
    if (!ip || isIP(ip) === 0 || ip === '0.0.0.0') return fail('wifi', `not joined: ${stateText}no address`, JOIN_FIX)
    return ok('wifi', `joined, ${stateText}address ${ip}`)
  } catch (err) {
    return refused('wifi', err)
  }
}

/**
 * DNS as the module does it: an HTTPS request to the probe host, judged only by whether it got past
 * the name (any later outcome, even a TLS failure, means the name resolved). Only when asked.
 */
export async function dnsStep(m: OpenedModule, probeHost: string | undefined, wifiUp: boolean): Promise<Step> {
  if (!probeHost) return skipped('dns', 'not checked: give --probe-host NAME (nothing leaves the bench unless asked)')
  if (!wifiUp) return skipped('dns', 'not checked: no Wi-Fi')
  const a = await m.driver.httpsGet({ host: probeHost, port: 443, path: '/' })
  if (a.class === 'dns') return fail('dns', `${probeHost} did not resolve: ${a.lines.at(-1) ?? ''}`, 'check the network\'s DNS server (DHCP option 6, or AT+S.SCFG=ip_dns1,<addr> then AT+S.WCFG, AT+S.RESET)')
  if (a.class === 'device' && a.fault === 'link') throw new DeviceError('AT_GARBAGE', `no verdict from the request to ${probeHost}: ${a.deviceError ?? ''}`)
  if (a.class === 'device') return fail('dns', `the module's answer to the request to ${probeHost} is not in its error table: ${a.lines.at(-1) ?? ''}`, 'add the line to the firmware profile\'s error table')
  return ok('dns', `${probeHost} resolved (the request went on: ${a.outcome === 'pass' ? `HTTP ${a.httpStatus ?? '-'}` : a.class})`)
}

/** The store takes a CA and says which key it holds; emptied again afterwards. */
export async function caStep(m: OpenedModule, now: Date): Promise<Step> {
  try {
    const ca = await throwAwayCa(now)
    await m.driver.clean()
    const up = await m.driver.uploadCa(ca.der)
    await m.driver.clean()
    if (m.identity.dialect === 'spwf01') return ok('ca', `took a ${ca.der.length}-byte CA (this firmware reports no key id)`)
    if (up.ski !== ca.ski) return fail('ca', `took a CA with key id ${ca.ski}, reports ${up.ski ?? '(none)'}`, 'the store does not hold what was sent: report this module')
    return ok('ca', `took a ${ca.der.length}-byte CA, reports its key id ${up.ski}`)
  } catch (err) {
    return refused('ca', err)
  }
}
