import { DeviceError } from '../../device/errors.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import { PKI_PARTITION_BYTES } from './pki-partition.js'

/** The module names this family identifies (chip of the `AT version:` line). */
export const ESP_MODULES = ['ESP32', 'ESP32-C3', 'ESP8266', 'ESP32-C5'] as const
export type EspModule = (typeof ESP_MODULES)[number]

export const ESP_DIALECT = 'esp-at'

/**
 * What differs between ESP-AT releases, as data in the profile's `esp` block (never version
 * branches in code):
 * - caStore: where a root CA goes, `sysmfg` (v3.1+, PEM in `client_ca.0`) or `sysflash` (v2.x,
 *   the AtPKI image in the `client_ca` partition);
 * - sniDefault: `none` (up to v4.1.1: no SNI and no name check unless CIPSSLCSNI/CCN is set) or
 *   `host` (v5.0+: the CIPSTART host, when it is not an IP literal);
 * - errno: `+ERRNO:0x…` before a failed CIPSTART's ERROR when SYSLOG=1 (v5.0+);
 * - cipherCommand: AT+CIPSSLCCIPHER exists (v4.1+).
 */
export interface EspExtras {
  caStore: 'sysmfg' | 'sysflash'
  sniDefault: 'none' | 'host'
  errno: boolean
  cipherCommand: boolean
}

export type EspProfile = FirmwareProfile & { esp: EspExtras }

const ESP_KEYS = ['caStore', 'sniDefault', 'errno', 'cipherCommand']

/** What is wrong with the profile's ESP-AT fields: one message per problem (none when valid). */
export function espProblems(p: FirmwareProfile): string[] {
  const e = (p as Partial<EspProfile>).esp
  const problems: string[] = []
  if (typeof e !== 'object' || e === null)
    problems.push('esp block is missing ({ caStore, sniDefault, errno, cipherCommand })')
  else {
    if (e.caStore !== 'sysmfg' && e.caStore !== 'sysflash') problems.push('esp.caStore must be sysmfg or sysflash')
    if (e.sniDefault !== 'none' && e.sniDefault !== 'host') problems.push('esp.sniDefault must be none or host')
    if (typeof e.errno !== 'boolean') problems.push('esp.errno must be true or false')
    if (typeof e.cipherCommand !== 'boolean') problems.push('esp.cipherCommand must be true or false')
    for (const k of Object.keys(e))
      if (!ESP_KEYS.includes(k))
        problems.push(`unknown field esp.${JSON.stringify(k)} (esp has ${ESP_KEYS.join(', ')})`)
    const max = espMaxCaBytes(p)
    if (typeof p.store?.maxCaBytes === 'number' && p.store.maxCaBytes > max)
      problems.push(`store.maxCaBytes ${p.store.maxCaBytes} is over what ${e.caStore} holds (${max} PEM bytes)`)
  }
  if (!(ESP_MODULES as readonly string[]).includes(p.module))
    problems.push(`module must be one of ${ESP_MODULES.join(', ')}`)
  return problems
}

/** The profile's `esp` block, checked; PROFILE_INVALID names what is wrong. */
export function espExtras(p: FirmwareProfile): EspExtras {
  const problems = espProblems(p)
  if (problems.length) throw new DeviceError('PROFILE_INVALID', `${p.id}: ${problems.join('; ')}`)
  return (p as EspProfile).esp
}

/** Largest CA (PEM bytes) per store: one SYSMFG value holds 8191 bytes (reference §2.1). */
export const SYSMFG_MAX_BYTES = 8191

/** What one CA upload can carry: a SYSMFG value, or the AtPKI partition less its headers. */
export function espMaxCaBytes(p: FirmwareProfile): number {
  return (p as Partial<EspProfile>).esp?.caStore === 'sysflash' ? PKI_PARTITION_BYTES - 12 : SYSMFG_MAX_BYTES
}
