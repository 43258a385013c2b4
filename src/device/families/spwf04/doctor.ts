import type { AtChannel } from '../../at/channel.js'
import { readVariable } from '../../drivers/common.js'
import { fail, ok, type Step } from '../../doctor/step.js'
import type { FamilyDoctor } from '../family.js'

export const spwf04Doctor: FamilyDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    const errs = await readVariable(c, 'AT+S.GCFG=console_errs', /^AT-S\.Var:console_errs=(\d+)/, ms)
    const echo = await readVariable(c, 'AT+S.GCFG=console_echo', /^AT-S\.Var:console_echo=(\d+)/, ms)
    if (errs !== '2' || echo !== '0')
      return fail(
        'console',
        `set console_errs 2 and console_echo 0, read back ${errs ?? '(none)'} and ${echo ?? '(none)'}`,
        'the firmware ignores SCFG: update it, or report this module',
      )
    return ok('console', 'echo off, errors with code and text (console_echo 0, console_errs 2, read back)')
  },
  async readClock(c: AtChannel, ms: number): Promise<Date | null> {
    const r = await c.exec('AT+S.TIME', { timeoutMs: ms })
    const date = r.lines.map((l) => /^AT-S\.Date:(\d\d)\.(\d\d)\.(\d{4})/.exec(l)).find(Boolean)
    const time = r.lines.map((l) => /^AT-S\.Time:(\d\d)\.(\d\d)\.(\d\d)/.exec(l)).find(Boolean)
    return r.ok && date && time
      ? new Date(Date.UTC(+date[3]!, +date[2]! - 1, +date[1]!, +time[1]!, +time[2]!, +time[3]!))
      : null
  },
  async readWifi(c: AtChannel, ms: number) {
    const ip = await readVariable(c, 'AT+S.STS=ip_ipaddr', /^AT-S\.Var:ip_ipaddr=(\S+)/, ms)
    const state = await readVariable(c, 'AT+S.STS=wifi_state', /^AT-S\.Var:wifi_state=(\d+)/, ms)
    return { ip, state }
  },
  caReportsKeyId: true,
  joinFix:
    'join a network once: AT+S.SSIDTXT=<ssid>, AT+S.SCFG=wifi_wpa_psk_text,<key>, AT+S.SCFG=wifi_mode,1, AT+S.WCFG, AT+S.RESET',
  answerFix:
    'the module refused it (its answer above); a factory reset (AT+S.FCFG, AT+S.RESET) restores the console settings',
}
