import type { AtChannel } from '../../device/at/channel.js'
import { readVariableAnswer } from '../../device/drivers/common.js'
import { fail, ok, unknown, unreadText, type Step } from '../../device/doctor-step.js'
import { readWifiState } from './driver.js'
import type { FamilyDoctor } from '../family.js'

/** `tlsmatrix doctor` in ESP-AT commands (the registry's FamilyDoctor shape). */
export const espDoctor: FamilyDoctor = {
  async console(c: AtChannel, ms: number): Promise<Step> {
    // ATE0 has no query form; SYSLOG does, and it is what makes the module give error codes.
    const command = 'AT+SYSLOG?'
    const syslog = await readVariableAnswer(c, command, /^\+SYSLOG:(\d)$/, ms)
    if (syslog.value === null)
      return unknown(
        'console',
        `set AT+SYSLOG=1, could not read it back: ${unreadText({ command, said: syslog.said })}`,
        'without AT+SYSLOG a failed request carries no error code: update ESP-AT to v2.1 or later if the firmware lacks it',
      )
    if (syslog.value !== '1')
      return fail(
        'console',
        `set AT+SYSLOG=1, read back ${syslog.value}`,
        'the firmware keeps no error codes on (AT+SYSLOG): update ESP-AT to v2.1 or later',
      )
    return ok('console', 'echo off (ATE0), error codes on (AT+SYSLOG=1, read back)')
  },
  async readClock(c: AtChannel, ms: number) {
    const command = 'AT+SYSTIMESTAMP?'
    const s = await readVariableAnswer(c, command, /^\+SYSTIMESTAMP:(\d+)$/, ms)
    return s.value !== null ? new Date(Number(s.value) * 1000) : { command, said: s.said }
  },
  async readWifi(c: AtChannel, ms: number) {
    const command = 'AT+CIPSTA?'
    const ip = await readVariableAnswer(c, command, /^\+CIPSTA:ip:"([^"]*)"$/, ms)
    if (ip.value === null) return { command, said: ip.said }
    const state = await readWifiState(c, ms)
    return { ip: ip.value === '0.0.0.0' ? null : ip.value, state }
  },
  caReportsKeyId: false,
  joinFix: 'join a network once: AT+CWMODE=1, AT+CWJAP="<ssid>","<password>" (saved; AT+CWAUTOCONN=1 rejoins at boot)',
  answerFix: 'the module refused it (its answer above); AT+RESTORE restores the factory settings',
  dnsFix: 'check the network\'s DNS server (DHCP option 6), or set one: AT+CIPDNS=1,"<addr>" (kept when AT+SYSSTORE=1)',
  baudFix: (baud) => `set the module back: AT+UART_DEF=${baud},8,1,0,0`,
  dnsByHand: 'AT+CIPDOMAIN="<name>" asks the module to resolve a name by itself',
}
