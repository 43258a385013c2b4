import type { AtChannel } from '../../device/at/channel.js'
import { readVariableAnswer } from '../../device/drivers/common.js'
import { fail, ok, unknown, unreadText, type Step, type Unread } from '../../device/doctor-step.js'
import type { FamilyDoctor } from '../family.js'

export const spwf04Doctor: FamilyDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    const errsCmd = 'AT+S.GCFG=console_errs'
    const echoCmd = 'AT+S.GCFG=console_echo'
    const errs = await readVariableAnswer(c, errsCmd, /^AT-S\.Var:console_errs=(\d+)/, ms)
    const echo = await readVariableAnswer(c, echoCmd, /^AT-S\.Var:console_echo=(\d+)/, ms)
    const unread = [
      ...(errs.value === null ? [{ command: errsCmd, said: errs.said }] : []),
      ...(echo.value === null ? [{ command: echoCmd, said: echo.said }] : []),
    ]
    if (unread.length)
      return unknown(
        'console',
        `set console_errs 2 and console_echo 0, could not read them back: ${unread.map(unreadText).join('; ')}`,
        "the settings are the run's; if its answers come with echo or without error codes: AT+S.GCFG=console_errs by hand",
      )
    if (errs.value !== '2' || echo.value !== '0')
      return fail(
        'console',
        `set console_errs 2 and console_echo 0, read back ${errs.value} and ${echo.value}`,
        'the firmware ignores SCFG: update it, or report this module',
      )
    return ok('console', 'echo off, errors with code and text (console_echo 0, console_errs 2, read back)')
  },
  async readClock(c: AtChannel, ms: number): Promise<Date | Unread> {
    const r = await c.exec('AT+S.TIME', { timeoutMs: ms })
    const date = r.lines.map((l) => /^AT-S\.Date:(\d\d)\.(\d\d)\.(\d{4})/.exec(l)).find(Boolean)
    const time = r.lines.map((l) => /^AT-S\.Time:(\d\d)\.(\d\d)\.(\d\d)/.exec(l)).find(Boolean)
    return r.ok && date && time
      ? new Date(Date.UTC(+date[3]!, +date[2]! - 1, +date[1]!, +time[1]!, +time[2]!, +time[3]!))
      : { command: 'AT+S.TIME', said: [...r.lines, r.final].filter(Boolean).join(' | ').slice(0, 200) }
  },
  async readWifi(c: AtChannel, ms: number) {
    const command = 'AT+S.STS=ip_ipaddr'
    const ip = await readVariableAnswer(c, command, /^AT-S\.Var:ip_ipaddr=(\S+)/, ms)
    if (ip.value === null) return { command, said: ip.said }
    const state = await readVariableAnswer(c, 'AT+S.STS=wifi_state', /^AT-S\.Var:wifi_state=(\d+)/, ms)
    return { ip: ip.value, state: state.value }
  },
  caReportsKeyId: true,
  joinFix:
    'join a network once: AT+S.SSIDTXT=<ssid>, AT+S.SCFG=wifi_wpa_psk_text,<key>, AT+S.SCFG=wifi_mode,1, AT+S.WCFG, AT+S.RESET',
  answerFix:
    'the module refused it (its answer above); a factory reset (AT+S.FCFG, AT+S.RESET) restores the console settings',
  dnsFix: "check the network's DNS server (DHCP option 6), or set one: AT+S.SCFG=ip_dns1,<addr>, AT+S.WCFG, AT+S.RESET",
  baudFix: (baud) => `set the module back: AT+S.SCFG=console_speed,${baud}, AT+S.WCFG, AT+S.RESET`,
}
