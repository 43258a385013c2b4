import type { AtChannel } from '../../at/channel.js'
import { readVariable } from '../../drivers/common.js'
import { fail, ok, type Step } from '../../doctor/step.js'
import type { FamilyDoctor } from '../family.js'

export const spwf01Doctor: FamilyDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    const echo = await readVariable(c, 'AT+S.GCFG=localecho1', /^#\s*localecho1\s*=\s*(\d+)/, ms)
    if (echo !== '0')
      return fail(
        'console',
        `set localecho1 0, read back ${echo ?? '(none)'}`,
        'the firmware ignores SCFG: update it, or report this module',
      )
    return ok('console', 'echo off (localecho1 0, read back); this dialect has one error format')
  },
  async readClock(c: AtChannel, ms: number): Promise<Date | null> {
    const s = await readVariable(c, 'AT+S.STS=current_time', /^#\s*current_time\s*=\s*(\d+)/, ms)
    return s ? new Date(Number(s) * 1000) : null
  },
  async readWifi(c: AtChannel, ms: number) {
    // This firmware has no wifi_state variable: the address alone says joined.
    const ip = await readVariable(c, 'AT+S.STS=ip_ipaddr', /^#\s*ip_ipaddr\s*=\s*(\S+)/, ms)
    return { ip, state: null }
  },
  caReportsKeyId: false,
  joinFix:
    'join a network once: AT+S.SSIDTXT=<ssid>, AT+S.SCFG=wifi_wpa_psk_text,<key>, AT+S.SCFG=wifi_mode,1, AT+S.WCFG, AT+S.RESET',
  answerFix:
    'the module refused it (its answer above); a factory reset (AT+S.FCFG, AT+S.RESET) restores the console settings',
}
