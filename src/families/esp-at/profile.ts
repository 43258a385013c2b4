import { z } from 'zod'
import { DeviceError } from '../../device/errors.js'
import { profileBlock, type FirmwareProfile } from '../../profile/profile.js'
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
export const ESP_BLOCK = z.strictObject(
  {
    caStore: z.enum(['sysmfg', 'sysflash'], { error: 'must be sysmfg or sysflash' }),
    sniDefault: z.enum(['none', 'host'], { error: 'must be none or host' }),
    errno: z.boolean({ error: 'must be true or false' }),
    cipherCommand: z.boolean({ error: 'must be true or false' }),
  },
  { error: 'must be { caStore, sniDefault, errno, cipherCommand } (every ESP-AT profile has it)' },
)
export type EspExtras = z.output<typeof ESP_BLOCK>

/** What is wrong across the profile's fields once each holds: a CA size its store cannot take. */
export function espProblems(p: FirmwareProfile): string[] {
  const e = ESP_BLOCK.safeParse(profileBlock(p, 'esp'))
  if (!e.success) return ['esp block is missing ({ caStore, sniDefault, errno, cipherCommand })']
  const max = espMaxCaBytes(p)
  return p.store.maxCaBytes > max
    ? [`store.maxCaBytes ${p.store.maxCaBytes} is over what ${e.data.caStore} holds (${max} PEM bytes)`]
    : []
}

const checked = new WeakMap<FirmwareProfile, EspExtras>()

/** The profile's `esp` block (checked when the profile was loaded; a profile made in code is checked here). */
export function espExtras(p: FirmwareProfile): EspExtras {
  let e = checked.get(p)
  if (e) return e
  const r = ESP_BLOCK.safeParse(profileBlock(p, 'esp'))
  if (!r.success)
    throw new DeviceError(
      'PROFILE_INVALID',
      `${p.id}: the esp block is missing or wrong (${r.error.issues[0]?.message ?? 'invalid'})`,
    )
  checked.set(p, (e = r.data))
  return e
}

/** Largest CA (PEM bytes) per store: one SYSMFG value holds 8191 bytes (reference §2.1). */
export const SYSMFG_MAX_BYTES = 8191

/** What one CA upload can carry: a SYSMFG value, or the AtPKI partition less its headers. */
export function espMaxCaBytes(p: FirmwareProfile): number {
  const e = ESP_BLOCK.safeParse(profileBlock(p, 'esp'))
  return e.success && e.data.caStore === 'sysflash' ? PKI_PARTITION_BYTES - 12 : SYSMFG_MAX_BYTES
}
