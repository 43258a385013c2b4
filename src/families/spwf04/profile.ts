import { z } from 'zod'
import { DeviceError } from '../../device/errors.js'
import { profileBlock, type FirmwareProfile } from '../../profile/profile.js'

/**
 * What the SPWF04SA driver takes from the profile's `spwf04` block (optional; absent, the
 * defaults below):
 * - syncVariable: a configuration variable the driver sets to a fresh random value and reads back
 *   after every HTTPGET (AT+S.SCFG / AT+S.GCFG), so that the bytes of one request's in-band body
 *   never answer the next command (docs/spwf.md, "In-band bodies").
 */
export const SPWF04_BLOCK = z.strictObject(
  {
    // A variable name goes into a command line: no comma, CR, LF or space can reach the module.
    syncVariable: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be a variable name (lower-case letters, digits, _; at most 32)')
      .optional(),
  },
  { error: 'must be an object ({ syncVariable })' },
)
export type Spwf04Extras = Required<z.output<typeof SPWF04_BLOCK>>

/**
 * ST's middleware lists `ip_apdomainname` among the variables common to SPWF01 and SPWF04 (S2); it
 * names the module's own access point, which a survey in station mode never runs. That it takes
 * any short text and gives it back unchanged is a GUESS (profiles' notes).
 */
export const DEFAULT_SYNC_VARIABLE = 'ip_apdomainname'

/** The block with its defaults; a block that is not one (a profile made in code, never loaded) is PROFILE_INVALID. */
export function spwf04Extras(p: FirmwareProfile): Spwf04Extras {
  const b = SPWF04_BLOCK.optional().safeParse(profileBlock(p, 'spwf04'))
  if (!b.success)
    throw new DeviceError(
      'PROFILE_INVALID',
      `${p.id}: the spwf04 block is wrong (${b.error.issues[0]?.message ?? 'invalid'})`,
    )
  return { syncVariable: b.data?.syncVariable ?? DEFAULT_SYNC_VARIABLE }
}
