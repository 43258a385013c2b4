import type { Identity } from '../device/index.js'
import type { FirmwareProfile, LearnedInfo } from '../profile/index.js'
import { errorEntry } from './error-lines.js'
import { ERROR_CLASSES, FIELD_PATHS, setField, type FieldPath } from './fields.js'
import type { Findings } from './findings.js'

/** Fields the tool does not measure by design: the dialect's grammar, and one CA at a time. */
const ASSUMED: Partial<Record<FieldPath, string>> = {
  responses: "the grammar of a response is the dialect's",
  'store.caSlots': 'tlsmatrix uploads one CA at a time',
}

export interface BuildInput {
  identity: Identity
  base: FirmwareProfile
  found: Findings
  meta: Omit<LearnedInfo, 'base' | 'fields' | 'unknown' | 'facts'>
  /** Why the unmeasured fields are unmeasured when no stage said (e.g. the budget). */
  defaultWhy: string
  /** A response's lines to the lines that say why (the session's, which knows the informational ones by now). */
  trim: (lines: readonly string[]) => string[]
  id?: string
}

/**
 * The learned profile: every measured field with how it was obtained, every other field taken
 * from the base profile and listed as unknown (with why) — nothing copied silently. Pure.
 */
export function buildProfile(input: BuildInput): FirmwareProfile {
  const { identity, base, found } = input
  const firmware = identity.firmware ?? base.firmware
  const p: FirmwareProfile = structuredClone({ ...base, learned: undefined })
  delete p.learned
  p.id = input.id ?? `${identity.module.toLowerCase()}-${firmware}-learned`
  p.module = identity.module
  p.firmware = firmware
  p.build = identity.build ?? base.build
  p.dialect = identity.dialect
  const fields: LearnedInfo['fields'] = {}
  const unknown: LearnedInfo['unknown'] = []
  const notes: string[] = [
    `Learned by tlsmatrix learn ${input.meta.tool} from ${input.meta.device} on ${input.meta.at} (run ${input.meta.runId}): ${input.meta.cost.uploads} uploads, ${input.meta.cost.requests} requests, ${Math.round(input.meta.cost.deviceMs / 1000)} s of device time. Each field's method and attempts are under learned.fields.`,
  ]
  if (identity.firmware === null)
    unknown.push({ field: 'firmware', why: `the module did not say its version; ${base.firmware} is ${base.id}'s` })
  const errorFields = new Set(ERROR_CLASSES.map((c) => `errors.${c}`))
  for (const path of FIELD_PATHS) {
    if (ASSUMED[path]) {
      fields[path] = { method: 'assumed', attempts: [], note: `${ASSUMED[path]} (from ${base.id})` }
      continue
    }
    if (errorFields.has(path)) continue
    const f = found.values.get(path)
    if (f) {
      setField(p, path, f.value)
      fields[path] = { method: f.method, attempts: [...new Set(f.attempts)], ...(f.note ? { note: f.note } : {}) }
    } else {
      const why = found.why.get(path) ?? input.defaultWhy
      fields[path] = { method: 'assumed', attempts: [], note: `not measured (${why}); ${base.id}'s value` }
      unknown.push({ field: path, why })
    }
  }
  const errors: FirmwareProfile['errors'] = {}
  const entries = new Map(
    ERROR_CLASSES.map(
      (cls) =>
        [
          cls,
          errorEntry(
            cls,
            (found.errorLines.get(cls) ?? [])
              .map((s) => ({ ...s, lines: input.trim(s.lines) }))
              .filter((s) => s.lines.length > 0),
          ),
        ] as const,
    ),
  )
  const vague = sharedLines(entries)
  if (vague) {
    // The same lines for most failures: the module says only that it failed.
    errors.unspecified = vague.lines
    fields['errors.unspecified'] = {
      method: 'probe',
      attempts: vague.attempts,
      note: `printed for ${vague.classes.join(', ')}`,
    }
    for (const cls of vague.classes) {
      entries.set(cls, null)
      fields[`errors.${cls}`] = {
        method: 'probe',
        attempts: [],
        note: 'the module prints only its lines for any failure (errors.unspecified)',
      }
    }
    notes.push(
      `The module prints ${vague.lines.join(' / ')} for ${vague.classes.join(', ')}: those lines are errors.unspecified, and a survey's why for such a failure comes from the prediction.`,
    )
  }
  // A module that says "expired" for a clock before every certificate has no clock lines of its own:
  // the profile keeps none, and a survey classes such a failure expired.
  const clock = entries.get('clock')
  const expired = entries.get('expired')
  if (clock && expired && !fields['errors.clock'] && JSON.stringify(clock.lines) === JSON.stringify(expired.lines)) {
    entries.set('clock', null)
    fields['errors.clock'] = {
      method: 'probe',
      attempts: clock.attempts,
      note: "with its clock before every certificate the module prints errors.expired's lines: no entry of its own",
    }
  }
  for (const cls of ERROR_CLASSES) {
    const path = `errors.${cls}` as FieldPath
    if (fields[path]) continue
    const e = entries.get(cls) ?? null
    if (e) {
      errors[cls] = e.lines
      fields[path] = {
        method: 'probe',
        attempts: e.attempts,
        ...(e.others.length ? { note: `other lines seen: ${e.others.map((o) => o.join(' / ')).join('; ')}` } : {}),
      }
    } else {
      const why = found.why.get(path) ?? input.defaultWhy
      if (base.errors[cls]) errors[cls] = base.errors[cls]
      fields[path] = { method: 'assumed', attempts: [], note: `not measured (${why}); ${base.id}'s lines` }
      unknown.push({ field: path, why })
    }
  }
  p.errors = errors
  const same = sameLines(errors)
  if (same.length)
    notes.push(
      `The module prints the same lines for ${same.join('; ')}: a survey cannot tell these classes apart from its answer.`,
    )
  notes.push(...found.notes)
  for (const u of unknown) notes.push(`GUESS: ${u.field} was not measured (${u.why}); the value is ${base.id}'s.`)
  p.notes = notes
  p.learned = { ...input.meta, base: base.id, fields, unknown, facts: found.facts }
  return p
}

/** Lines that at least three classes share: the module's way of saying "failed" without a why. */
function sharedLines(
  entries: ReadonlyMap<string, { lines: string[]; attempts: number[] } | null>,
): { lines: string[]; attempts: number[]; classes: Array<(typeof ERROR_CLASSES)[number]> } | null {
  const by = new Map<string, { lines: string[]; attempts: number[]; classes: Array<(typeof ERROR_CLASSES)[number]> }>()
  for (const [cls, e] of entries) {
    if (!e || cls === 'http') continue
    const k = JSON.stringify(e.lines)
    const v = by.get(k) ?? { lines: e.lines, attempts: [], classes: [] }
    v.attempts.push(...e.attempts)
    v.classes.push(cls as (typeof ERROR_CLASSES)[number])
    by.set(k, v)
  }
  const top = [...by.values()].sort((a, b) => b.classes.length - a.classes.length)[0]
  return top && top.classes.length >= 3 ? top : null
}

function sameLines(errors: FirmwareProfile['errors']): string[] {
  const by = new Map<string, string[]>()
  for (const [cls, lines] of Object.entries(errors)) {
    const k = JSON.stringify(lines)
    by.set(k, [...(by.get(k) ?? []), cls])
  }
  return [...by.values()].filter((c) => c.length > 1).map((c) => c.join(' and '))
}
