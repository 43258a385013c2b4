import type { AtChannel } from '../../device/at/channel.js'
import { readVariableAnswer } from '../../device/drivers/common.js'
import { fail, ok, unknown, unreadText, type Step } from '../../device/doctor-step.js'
import type { FamilyDoctor } from '../family.js'

export const spwf01Doctor: FamilyDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    const command = 'AT+S.GCFG=localecho1'
    const echo = await readVariableAnswer(c, command, /^#\s*localecho1\s*=\s*(\d+)/, ms)
    if (echo.value === null)
      return unknown(
        'console',
        `set localecho1 0, could not read it back: ${unreadText({ command, said: echo.said })}`,
        "the setting is the run's; if its answers come with echo: AT+S.GCFG=localecho1 by hand",
      )
    if (echo.value !== '0')
      return fail(
        'console',
        `set localecho1 0, read back ${echo.value}`,
        'the firmware ignores SCFG: update it, or report this module',
      )
    return ok('console', 'echo off (localecho1 0, read back); this dialect has one error format')
  },
  async readClock(c: AtChannel, ms: number) {
    const command = 'AT+S.STS=current_time'
    const s = await readVariableAnswer(c, command, /^#\s*current_time\s*=\s*(\d+)/, ms)
    return s.value !== null ? new Date(Number(s.value) * 1000) : { command, said: s.said }
  },
  async readWifi(c: AtChannel, ms: number) {
    // This firmware has no wifi_state variable: the address alone says joined.
    const command = 'AT+S.STS=ip_ipaddr'
    const ip = await readVariableAnswer(c, command, /^#\s*ip_ipaddr\s*=\s*(\S+)/, ms)
    return ip.value !== null ? { ip: ip.value, state: null } : { command, said: ip.said }
  },
  caReportsKeyId: false,
  // This firmware saves with AT&W and restarts with AT+CFUN=1 (not the SPWF04SA's WCFG / RESET).
  joinFix:
    "join a network once: AT+S.SSIDTXT=<ssid>, AT+S.SCFG=wifi_wpa_psk_text,<key>, AT+S.SCFG=wifi_mode,1, AT&W, AT+CFUN=1 (check the variable names in your firmware's manual)",
  answerFix:
    'the module refused it (its answer above); a factory reset (AT&F, AT&W, AT+CFUN=1) restores the console settings',
  dnsFix: "check the network's DNS server (DHCP option 6), or set one: AT+S.SCFG=ip_dns,<addr>, AT&W, AT+CFUN=1",
  baudFix: (baud) => `set the module back: AT+S.SCFG=console1_speed,${baud}, AT&W, AT+CFUN=1`,
}
