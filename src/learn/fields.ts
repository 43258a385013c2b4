import { FAILURE_CLASSES, linePattern, type FailureClass, type FirmwareProfile } from '../profile/index.js'

/** The profile fields learn measures, by path. `errors.<class>` are the module's lines per class. */
export const ERROR_CLASSES = FAILURE_CLASSES.filter((c) => c !== 'device') as Array<Exclude<FailureClass, 'device'>>

export const FIELD_PATHS = [
  'tls.versions',
  'tls.cipherSuites',
  'tls.groups',
  'tls.signatureAlgorithms',
  'tls.sni',
  'tls.certificateKeys.rsa',
  'tls.certificateKeys.ecdsa',
  'tls.certificateSignatureHashes',
  'tls.maxCertificateBytes',
  'tls.maxChainBytes',
  'tls.anchorMatch',
  'tls.checkValidity',
  'tls.checkHostname',
  'store.maxCaBytes',
  'store.caSlots',
  'responses',
  ...ERROR_CLASSES.map((c) => `errors.${c}`),
] as const
export type FieldPath = (typeof FIELD_PATHS)[number]

/** Sizes found by a search: equal when the learned value is at most `resolution` bytes under the true one. */
export const SIZE_RESOLUTION: Partial<Record<FieldPath, number>> = {
  'tls.maxCertificateBytes': 64,
  'tls.maxChainBytes': 64,
  'store.maxCaBytes': 64,
}
/** Lists whose order carries no meaning (the hello's lists do: they are sent in order). */
const SETS = new Set<FieldPath>(['tls.versions', 'tls.certificateKeys.ecdsa', 'tls.certificateSignatureHashes'])

export function getField(p: FirmwareProfile, path: FieldPath): unknown {
  let cur: unknown = p
  for (const key of path.split('.'))
    cur = cur === undefined || cur === null ? undefined : (cur as Record<string, unknown>)[key]
  return cur
}

/** Sets a field on a copy-safe profile (the caller owns `p`); `errors.x` undefined removes the class. */
export function setField(p: FirmwareProfile, path: FieldPath, value: unknown): void {
  const keys = path.split('.')
  let cur = p as unknown as Record<string, unknown>
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>
  const last = keys[keys.length - 1]!
  if (value === undefined) delete cur[last]
  else cur[last] = value
}

export interface FieldDifference {
  field: FieldPath
  learned: unknown
  other: unknown
}

/** Whether a learned value stands for the other profile's (sizes within the search resolution, sets unordered). */
export function sameValue(path: FieldPath, learned: unknown, other: unknown): boolean {
  const tol = SIZE_RESOLUTION[path]
  if (tol !== undefined && typeof learned === 'number' && typeof other === 'number')
    return learned <= other && other - learned < tol
  if (SETS.has(path) && Array.isArray(learned) && Array.isArray(other))
    return JSON.stringify([...learned].sort()) === JSON.stringify([...other].sort())
  return JSON.stringify(learned) === JSON.stringify(other)
}

/** The fields `learned` says it measured (hello or probe) whose value differs from `other`'s. */
export function compareLearned(learned: FirmwareProfile, other: FirmwareProfile): FieldDifference[] {
  const fields = learned.learned?.fields ?? {}
  const out: FieldDifference[] = []
  for (const path of FIELD_PATHS) {
    const f = fields[path]
    if (!f || f.method === 'assumed') continue
    const a = getField(learned, path)
    const b = getField(other, path)
    if (!sameValue(path, a, b) && !sameEntry(path, a, b, other)) out.push({ field: path, learned: a, other: b })
  }
  return out
}

/**
 * An error-table entry classifies the same with or without the final line after it (the
 * classifier takes the entry optionally followed by a final line): `["+ERRNO:0x8"]` learned
 * stands for `["+ERRNO:0x8", "ERROR"]` written by hand.
 */
function sameEntry(path: FieldPath, learned: unknown, other: unknown, profile: FirmwareProfile): boolean {
  if (
    !path.startsWith('errors.') ||
    !Array.isArray(learned) ||
    !Array.isArray(other) ||
    other.length !== learned.length + 1
  )
    return false
  const last = String(other[other.length - 1])
  return (
    profile.responses.final.some((t) => linePattern(t).test(last)) &&
    JSON.stringify(other.slice(0, -1)) === JSON.stringify(learned)
  )
}
