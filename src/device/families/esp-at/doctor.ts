import type { AtChannel } from '../../at/channel.js'
import { readVariable } from '../../drivers/common.js'
import { fail, ok, type Step } from '../../doctor/step.js'
import { readWifiState } from './driver.js'

/** `tlsmatrix doctor` in ESP-AT commands (the registry's FamilyDoctor shape). */
export const espDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    // ATE0 has no query form; SYSLOG does, and it is what makes the module give error codes.
    const syslog = await readVariable(c, 'AT+SYSLOG?', /^\+SYSLOG:(\d)$/, ms)
    if (syslog !== '1')
      return fail(
        'console',
        `set AT+SYSLOG=1, read back ${syslog ?? '(none)'}`,
        'the firmware has no error codes (AT+SYSLOG): update ESP-AT to v2.1 or later',
      )
    return ok('console', 'echo off (ATE0), error codes on (AT+SYSLOG=1, read back)')
  },
  async readClock(c: AtChannel, ms: number): Promise<Date | null> {
    const s = await readVariable(c, 'AT+SYSTIMESTAMP?', /^\+SYSTIMESTAMP:(\d+)$/, ms)
    return s ? new Date(Number(s) * 1000) : null
  },
  async readWifi(c: AtChannel, ms: number): Promise<{ ip: string | null; state: string | null }> {
    const ip = await readVariable(c, 'AT+CIPSTA?', /^\+CIPSTA:ip:"([^"]*)"$/, ms)
    const state = await readWifiState(c, ms)
    return { ip: ip === '0.0.0.0' ? null : ip, state }
  },
  caReportsKeyId: false,
  joinFix: 'join a network once: AT+CWMODE=1, AT+CWJAP="<ssid>","<password>" (saved; AT+CWAUTOCONN=1 rejoins at boot)',
  answerFix: 'the module refused it (its answer above); AT+RESTORE restores the factory settings',
}
