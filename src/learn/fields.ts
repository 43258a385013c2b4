import type { z } from 'zod'
import { FAILURE_CLASSES, linePattern, PROFILE, type FailureClass, type FirmwareProfile } from '../profile/index.js'

/** The failure classes a module's lines are learned for (`device` is ours: no module prints it). */
export const ERROR_CLASSES = FAILURE_CLASSES.filter((c): c is Exclude<FailureClass, 'device'> => c !== 'device')
type ErrorClass = (typeof ERROR_CLASSES)[number]

type Tls = FirmwareProfile['tls']
/**
 * A profile field learn measures, by path, as the profile schema declares them: every `tls`
 * field (a key's limits per algorithm), the store's sizes (not `caBundle`: learn uploads one CA at
 * a time, so it never sees whether a slot takes a bundle), the response grammar as a whole, and
 * the module's lines per failure class.
 */
export type FieldPath =
  | `tls.${Exclude<keyof Tls, 'certificateKeys'>}`
  | `tls.certificateKeys.${keyof Tls['certificateKeys']}`
  | `store.${Exclude<keyof FirmwareProfile['store'], 'caBundle'>}`
  | 'responses'
  | `errors.${ErrorClass}`

/** The keys an object schema declares, in its order. */
const keysOf = <T extends z.ZodObject>(o: T) => Object.keys(o.shape) as Array<keyof z.output<T> & string>

/** Every FieldPath, in the schema's order (the order learn reports them in). */
export const FIELD_PATHS: readonly FieldPath[] = [
  ...keysOf(PROFILE.shape.tls).flatMap((k): FieldPath[] =>
    k === 'certificateKeys'
      ? keysOf(PROFILE.shape.tls.shape.certificateKeys).map((c) => `tls.certificateKeys.${c}` as const)
      : [`tls.${k}`],
  ),
  ...keysOf(PROFILE.shape.store)
    .filter((k) => k !== 'caBundle')
    .map((k) => `store.${k}` as const),
  'responses',
  ...ERROR_CLASSES.map((c) => `errors.${c}` as const),
]

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

const isList = (v: unknown): v is unknown[] => Array.isArray(v)

/** Whether a learned value stands for the other profile's (sizes within the search resolution, sets unordered). */
export function sameValue(path: FieldPath, learned: unknown, other: unknown): boolean {
  const tol = SIZE_RESOLUTION[path]
  if (tol !== undefined && typeof learned === 'number' && typeof other === 'number')
    return learned <= other && other - learned < tol
  if (SETS.has(path) && isList(learned) && isList(other))
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
