import { EMULATOR_DEFAULTS } from './defaults.js'
import { parseFaults, type FaultPlan } from './faults.js'

/** What an `emu:` URL's options (`faults=`, `seed=`, `clock=`, …) set, as `emulate`'s flags would. */
export interface EmulatorSettings {
  baud: number
  seed: number
  requestTimeoutMs: number
  rtcAtBoot: Date
  faults: FaultPlan
  wifi: boolean
  dnsOff: boolean
}

/**
 * The settings of an `emu:` URL's options; unknown options and bad values are refused, as the
 * `emulate` process refuses its flags (the URL was checked before any work: this is the backstop).
 */
export function emulatorSettings(params: URLSearchParams): EmulatorSettings {
  const s: EmulatorSettings = {
    baud: EMULATOR_DEFAULTS.baud,
    seed: EMULATOR_DEFAULTS.seed,
    requestTimeoutMs: EMULATOR_DEFAULTS.requestTimeoutMs,
    rtcAtBoot: new Date(EMULATOR_DEFAULTS.clock),
    faults: parseFaults(''),
    wifi: true,
    dnsOff: false,
  }
  const whole = (key: string, value: string) => {
    if (!/^\d+$/.test(value)) throw new Error(`emu: ${key} must be a whole number, not "${value}"`)
    return Number(value)
  }
  for (const [key, value] of params) {
    switch (key) {
      case 'baud':
        s.baud = whole(key, value)
        break
      case 'seed':
        s.seed = whole(key, value)
        break
      case 'request-timeout-ms':
        s.requestTimeoutMs = whole(key, value)
        break
      case 'clock':
        s.rtcAtBoot = new Date(value)
        if (Number.isNaN(s.rtcAtBoot.getTime())) throw new Error(`emu: clock "${value}" is not an ISO-8601 date`)
        break
      case 'faults':
        s.faults = parseFaults(value)
        break
      case 'no-wifi':
        s.wifi = false
        break
      case 'no-dns':
        s.dnsOff = true
        break
      default:
        throw new Error(`emu: unknown option "${key}"`)
    }
  }
  return s
}
