import type { FirmwareProfile } from '../../profile/profile.js'

/**
 * What the SPWF04SA driver takes from the profile's `spwf04` block (optional; absent, the
 * defaults below):
 * - syncVariable: a configuration variable the driver sets to a fresh random value and reads back
 *   after every HTTPGET (AT+S.SCFG / AT+S.GCFG), so that the bytes of one request's in-band body
 *   never answer the next command (docs/spwf.md, "In-band bodies").
 */
export interface Spwf04Extras {
  syncVariable: string
}

/**
 * ST's middleware lists `ip_apdomainname` among the variables common to SPWF01 and SPWF04 (S2); it
 * names the module's own access point, which a survey in station mode never runs. That it takes
 * any short text and gives it back unchanged is a GUESS (profiles' notes).
 */
export const DEFAULT_SYNC_VARIABLE = 'ip_apdomainname'

const KEYS = ['syncVariable']

/** What is wrong with the profile's `spwf04` block: one message per problem (none when valid or absent). */
export function spwf04Problems(p: FirmwareProfile): string[] {
  const b = (p as { spwf04?: unknown }).spwf04
  if (b === undefined) return []
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return ['spwf04 must be an object ({ syncVariable })']
  const problems: string[] = []
  const v = (b as Record<string, unknown>).syncVariable
  // A variable name goes into a command line: no comma, CR, LF or space can reach the module.
  if (v !== undefined && (typeof v !== 'string' || !/^[a-z][a-z0-9_]{0,31}$/.test(v)))
    problems.push('spwf04.syncVariable must be a variable name (lower-case letters, digits, _; at most 32)')
  for (const k of Object.keys(b))
    if (!KEYS.includes(k)) problems.push(`unknown field spwf04.${JSON.stringify(k)} (spwf04 has ${KEYS.join(', ')})`)
  return problems
}

export function spwf04Extras(p: FirmwareProfile): Spwf04Extras {
  const b = (p as { spwf04?: Partial<Spwf04Extras> }).spwf04
  return { syncVariable: b?.syncVariable ?? DEFAULT_SYNC_VARIABLE }
}
