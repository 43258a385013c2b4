import type { z } from 'zod'

/**
 * How a file checked with a schema names where a problem is: a JSON path as a person reads it,
 * `tls.certificateKeys.rsa`, `errors.http[0]`, `hosts.a.test.rotations[2]`.
 */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('')
}

/**
 * The keys the object at `path` may hold, as its schema declares them (null when the schema there
 * is no object): what a message names beside a misspelt key.
 */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | null {
  let s: z.core.$ZodType | undefined = schema
  for (let i = 0; ; i++) {
    s = unwrap(s)
    if (!s) return null
    const def = s._zod.def
    if (i === path.length) return def.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : null
    const key = path[i]!
    if (def.type === 'object') s = (def as z.core.$ZodObjectDef).shape[String(key)]
    else if (def.type === 'array') s = (def as z.core.$ZodArrayDef).element
    else if (def.type === 'record') s = (def as z.core.$ZodRecordDef).valueType
    else return null
  }
}

/** The schema under wrappers that do not change which keys an object has (optional, default, pipe…). */
function unwrap(s: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  while (s) {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType }
    if (def.innerType) s = def.innerType
    else if (def.type === 'pipe' && def.in) s = def.in
    else return s
  }
  return s
}

/** Zod's own words for a required field that is absent, which a message says as "is missing". */
export function isMissing(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && / received undefined$/.test(issue.message)
}
