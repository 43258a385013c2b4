import { DeviceError } from '../../device/errors.js'
import type { EspModule } from './profile.js'

export interface GmrVersion {
  /** x.y.z: the first three numbers of `AT version:a.b.c.d`. */
  firmware: string
  /** The whole AT version up to `(` (e.g. `3.3.0.0`, `2.2.0.0-dev`): the profile's `build`. */
  build: string
  module: EspModule
}

/** Chip names as the version line prints them, with or without the dash (`ESP32C3`, `ESP32-C3`). */
const CHIPS: Record<string, EspModule> = {
  ESP32: 'ESP32',
  ESP32C3: 'ESP32-C3',
  ESP8266: 'ESP8266',
  ESP32C5: 'ESP32-C5',
}

/**
 * `AT version:%d.%d.%d.%d%s(%s%s - %s - %s %s)` (reference §1 AT+GMR): the chip is the second
 * ` - `-separated field inside the parentheses. NonOS AT 1.x is another dialect: refused.
 */
export function parseGmr(value: string): GmrVersion {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)([^(]*)\(([^)]*)\)/.exec(value)
  if (!m) throw new DeviceError('DEVICE_UNKNOWN', `AT+GMR: the AT version "${value.slice(0, 80)}" is not a.b.c.d(…)`)
  if (Number(m[1]) < 2)
    throw new DeviceError(
      'DEVICE_UNKNOWN',
      `AT version ${m[1]}.${m[2]}.${m[3]}.${m[4]} is the ESP8266 NonOS AT 1.x firmware, a different dialect (no SYSLOG, AT+CIPSSLSIZE)`,
    )
  const chip = (m[6]!.split(' - ')[1] ?? '').trim().toUpperCase().replace(/-/g, '')
  const module = CHIPS[chip]
  if (!module)
    throw new DeviceError(
      'DEVICE_UNKNOWN',
      `AT+GMR names chip "${chip.slice(0, 20)}", not one of ${Object.values(CHIPS).join(', ')}`,
    )
  return { firmware: `${m[1]}.${m[2]}.${m[3]}`, build: `${m[1]}.${m[2]}.${m[3]}.${m[4]}${m[5]!.trim()}`, module }
}

/** The chip as the emulator prints it in the version line (no dash, as on release builds [I]). */
export function chipToken(module: string): string {
  return module.replace(/-/g, '')
}
