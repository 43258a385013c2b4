import type { HelloProfile } from '../chain/index.js'
import type { FirmwareProfile } from './schema.js'

// The profile's shape is declared once, as a schema (./schema.ts); its types come from there.
export { FAILURE_CLASSES, LEARN_METHODS } from './schema.js'
export type { FailureClass, FirmwareProfile, LearnedField, LearnedInfo, LearnMethod } from './schema.js'

/** A registered module family's id (src/families), e.g. `spwf04`. */
export type Dialect = string

/** The ClientHello the module sends, as the resolver and the emulator's TLS client take it. */
export function helloOf(profile: FirmwareProfile): HelloProfile {
  const t = profile.tls
  return {
    versions: t.versions,
    cipherSuites: t.cipherSuites,
    groups: t.groups,
    signatureAlgorithms: t.signatureAlgorithms,
    sni: t.sni,
  }
}

/**
 * A family's own block of a profile (ESP-AT's `esp`), as the data it is: the family parses it with
 * the schema it gave the loader (`DialectRules.profileBlock`). Undefined when the profile has none.
 */
export function profileBlock(profile: FirmwareProfile, key: string): unknown {
  return Object.hasOwn(profile, key) ? (Reflect.get(profile, key) as unknown) : undefined
}
