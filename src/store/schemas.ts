import { createHash } from 'node:crypto'
import { isCaptureErrorCode, type CaptureErrorCode } from '../chain/capture-error.js'
import { z } from 'zod'
import type { TranscriptEntry } from '../device/at/transcript.js'
import type { CaUpload } from '../device/drivers/driver.js'
import { FAILURE_CLASSES, PROFILE_SNAPSHOT, type FirmwareProfile } from '../profile/index.js'
import { NOT_RUN_REASONS, skipReason } from '../plan/index.js'
import { LEARN_OPTIONS, SURVEY_OPTIONS, type LearnRunOptions, type SurveyRunOptions } from './run-options.js'
import type { DevicePlan } from '../plan/index.js'

export interface RunDevice {
  label: string
  url: string
  module: string | null
  firmware: string | null
  build: string | null
  profile: string | null
  warning: string | null
  /** Why the device could not be used, when it could not. */
  lost: string | null
  /** CA uploads and HTTPS requests made in the last session of the run (device time spent). */
  uploads?: number
  requests?: number
}

export interface RunTarget {
  id: string
  host: string
  port: number
  path: string
  tags: string[]
  expect: 'pass' | 'fail' | null
  line: number
}

/**
 * The store boundary: what a row of each table must hold, and above all what each JSON column
 * must parse to. A database travels between rigs (`tlsmatrix merge`) and may have been written by
 * anyone, so nothing read from one is trusted: `merge` refuses a source with a row that fails
 * these (STORE_CORRUPT naming table, row and column), and a report leaves such a row out and says
 * which. One schema per JSON column; the scalar columns are checked with them.
 *
 * Objects accept fields they do not know (a newer tlsmatrix may add one without a new schema
 * version) and keys that come from data (device labels) are read into objects with no prototype,
 * so a label such as `constructor` or `__proto__` is a key like any other.
 */

/**
 * Size limits per column, in characters of the stored text (bytes for a BLOB). tlsmatrix never
 * writes a value near them (a transcript keeps at most 512 KiB of the module's bytes, a line at
 * most 8 KiB); a larger value is not one of ours and is refused, never truncated: a merge that
 * shortened evidence would no longer recognise the same run merged again.
 */
export const LIMITS = {
  /** attempts.transcript: 512 KiB of bytes, each at most 6 characters as JSON, plus per-chunk overhead. */
  transcript: 32 * 1024 * 1024,
  /** attempts.lines and attempts.ca_upload: the module's lines of one request. */
  lines: 4 * 1024 * 1024,
  /** The JSON columns of a run (devices, options, plan, profiles, targets): a plan of 100,000 targets fits. */
  runJson: 64 * 1024 * 1024,
  /** The JSON columns of an observation (served chain, anchors with their paths, timings, AIA errors). */
  observationJson: 4 * 1024 * 1024,
  /** certificates.der */
  der: 1024 * 1024,
  /** Any other text column (names, hosts, notes, error messages). */
  text: 1024 * 1024,
} as const

/** The row fails: which column, and why (for a person, one line). */
export interface RowProblem {
  column: string
  problem: string
}

/** A row of `table` that cannot be read, as a report names it. */
export interface UnreadableRow extends RowProblem {
  table: 'runs' | 'attempts' | 'observations' | 'certificates'
  /** The row's id (attempts, observations: a number; runs: the run id; certificates: the sha256). */
  id: string | number
  /** What the report did about it. */
  effect: string
}

/** A record whose keys come from data: an object with no prototype, so no key reaches Object.prototype. */
function recordOf<T extends z.ZodType>(value: T) {
  return z.unknown().transform((v, ctx): Record<string, z.output<T>> => {
    const out = Object.create(null) as Record<string, z.output<T>>
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      ctx.addIssue({ code: 'custom', message: 'expected an object' })
      return z.NEVER
    }
    for (const [k, item] of Object.entries(v)) {
      const r = value.safeParse(item)
      if (!r.success) {
        for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [k, ...issue.path] })
        return z.NEVER
      }
      out[k] = r.data
    }
    return out
  })
}

const text = z.string()
const nullableText = z.string().nullable()
/** A field older rows may lack: read as null. */
const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? null)
const whole = z.number().int()
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 (64 lower-case hex digits)')

// ---------------------------------------------------------------------------------------------
// runs

export const RUN_DEVICE = z.looseObject({
  label: text,
  url: text,
  module: optionalText,
  firmware: optionalText,
  build: optionalText,
  profile: optionalText,
  warning: optionalText,
  lost: optionalText,
  uploads: z.number().optional(),
  requests: z.number().optional(),
})
/** runs.devices */
export const RUN_DEVICES: z.ZodType<RunDevice[], unknown> = z.array(RUN_DEVICE)

/**
 * runs.options: the options the run was started with (--resume reads them back): a survey's or a
 * learn run's (src/store/run-options.ts); the run's kind says which, and getRun reads it so.
 */
export const RUN_OPTIONS: z.ZodType<SurveyRunOptions | LearnRunOptions, unknown> = z.union([
  SURVEY_OPTIONS,
  LEARN_OPTIONS,
])

const ANCHOR_SOURCES = ['served', 'store', 'aia'] as const
const PLANNED_ANCHOR = z.looseObject({
  sha256: text,
  subject: text,
  source: z.enum([...ANCHOR_SOURCES, ...ANCHOR_SOURCES.map((s) => `${s}-untrusted` as const)]),
  kind: z.enum(['root', 'intermediate']),
  uploadBytes: z.number(),
})
const NOT_RUN = z.looseObject({ reason: z.enum(NOT_RUN_REASONS), detail: text })
const PLAN_ITEM = z.looseObject({
  target: text,
  host: text,
  port: whole,
  path: text,
  expect: z.enum(['pass', 'fail']).nullable(),
  observationId: whole.nullable(),
  anchor: PLANNED_ANCHOR.nullable(),
  // Plans stored before typed reasons said `{ note: "reason: detail" }`: read as the reason it names.
  skip: z.union([NOT_RUN, z.looseObject({ note: text }).transform(skipReason)]).nullable(),
  borrowed: text.optional(),
})
/** runs.plan (null: not planned yet) */
export const RUN_PLAN: z.ZodType<DevicePlan[], unknown> = z.array(
  z.looseObject({
    device: text,
    groups: z.array(z.looseObject({ anchor: PLANNED_ANCHOR, items: z.array(PLAN_ITEM) })),
    skipped: z.array(PLAN_ITEM),
  }),
)

/**
 * runs.profiles: per device label, the profile it was judged with (null: a run from before
 * snapshots), read with the profile's own schema, leniently (src/profile/schema.ts): every
 * snapshot a run stored is read, a family's own blocks and fields a newer tlsmatrix adds pass.
 */
export const RUN_PROFILES: z.ZodType<Record<string, FirmwareProfile>, unknown> = recordOf(PROFILE_SNAPSHOT)

/** runs.targets: the targets as the hosts file listed them (null: a run from before). */
export const RUN_TARGETS: z.ZodType<RunTarget[], unknown> = z.array(
  z.looseObject({
    id: text,
    host: text,
    port: whole,
    path: text,
    tags: z.array(text),
    expect: z.enum(['pass', 'fail']).nullable(),
    line: whole,
  }),
)

// ---------------------------------------------------------------------------------------------
// attempts

/** attempts.lines: the module's lines. */
export const ATTEMPT_LINES: z.ZodType<string[], unknown> = z.array(text)

/** attempts.ca_upload (null: no upload). */
export const ATTEMPT_UPLOAD: z.ZodType<CaUpload, unknown> = z.looseObject({
  command: text,
  ski: nullableText,
  lines: z.array(text),
})

/** A ClientHello the probe lab read, as kept: its raw bytes as hex. */
const KEPT_HELLO = z.object({
  legacyVersion: text,
  supportedVersions: z.array(text).nullable(),
  cipherSuites: z.array(text),
  scsv: z.array(text),
  compression: z.array(z.number()),
  extensions: z.array(z.object({ type: whole, name: text })),
  sni: nullableText,
  groups: z.array(text),
  signatureAlgorithms: z.array(text),
  rawHex: z.string().regex(/^(?:[0-9a-f]{2})*$/, 'expected hex bytes'),
})

/** A connection the probe lab saw while a learn probe ran. */
const KEPT_CONNECTION = z.object({
  hello: KEPT_HELLO.nullable(),
  /** The server side completed the handshake, with this protocol and cipher. */
  completed: z.boolean(),
  protocol: nullableText,
  cipher: nullableText,
  servername: nullableText,
  /** The first request line and Host header seen over TLS, null when none. */
  request: nullableText,
})

/** attempts.probe: a learn probe's evidence, what `learn --resume` replays (null: a survey's attempt). */
export const ATTEMPT_PROBE = z.object({ connections: z.array(KEPT_CONNECTION) })
export type ProbeEvidence = z.output<typeof ATTEMPT_PROBE>
export type KeptConnection = ProbeEvidence['connections'][number]

/** attempts.transcript: every chunk on the wire. */
export const ATTEMPT_TRANSCRIPT: z.ZodType<TranscriptEntry[], unknown> = z.array(
  z.looseObject({ dir: z.enum(['tx', 'rx', 'note']), t: z.number(), data: text }),
)

// ---------------------------------------------------------------------------------------------
// observations

/** observations.served: the chain as served, leaf first (sha256 of each certificate). */
export const OBSERVATION_SERVED: z.ZodType<string[], unknown> = z.array(sha256)

/** observations.anchors: the candidate anchors with their verified paths (leaf first). */
export const OBSERVATION_ANCHORS = z.array(
  z.looseObject({
    sha256,
    source: text.optional(),
    kind: text.optional(),
    match: z.array(text).optional(),
    paths: z.array(z.array(sha256)).optional(),
  }),
)

/** observations.timings */
export const OBSERVATION_TIMINGS = z.looseObject({
  dnsMs: z.number().nullish(),
  connectMs: z.number().nullish(),
  handshakeMs: z.number().nullish(),
  totalMs: z.number().nullish(),
})

/** observations.aia_errors */
export const OBSERVATION_AIA_ERRORS = z.array(
  z.looseObject({
    code: z.custom<CaptureErrorCode>(isCaptureErrorCode, 'expected a capture error code'),
    message: text,
  }),
)

// ---------------------------------------------------------------------------------------------
// rows

type Table = UnreadableRow['table']

/** A JSON column: its schema, whether it may be NULL, its size limit. */
export interface JsonColumn<T> {
  schema: z.ZodType<T, unknown>
  nullable: boolean
  limit: number
}

const column = <T>(schema: z.ZodType<T, unknown>, nullable: boolean, limit: number): JsonColumn<T> => ({
  schema,
  nullable,
  limit,
})

/** Every JSON column of every table, by name. */
export const JSON_COLUMNS = {
  runs: {
    devices: column(RUN_DEVICES, false, LIMITS.runJson),
    options: column(RUN_OPTIONS, false, LIMITS.runJson),
    plan: column(RUN_PLAN, true, LIMITS.runJson),
    profiles: column(RUN_PROFILES, true, LIMITS.runJson),
    targets: column(RUN_TARGETS, true, LIMITS.runJson),
  },
  attempts: {
    lines: column(ATTEMPT_LINES, false, LIMITS.lines),
    ca_upload: column(ATTEMPT_UPLOAD, true, LIMITS.lines),
    transcript: column(ATTEMPT_TRANSCRIPT, false, LIMITS.transcript),
    probe: column(ATTEMPT_PROBE, true, LIMITS.lines),
  },
  observations: {
    served: column(OBSERVATION_SERVED, false, LIMITS.observationJson),
    timings: column(OBSERVATION_TIMINGS, false, LIMITS.observationJson),
    anchors: column(OBSERVATION_ANCHORS, false, LIMITS.observationJson),
    aia_errors: column(OBSERVATION_AIA_ERRORS, false, LIMITS.observationJson),
  },
  certificates: {},
} as const

/** The JSON columns of a table, as a list (for a check of every column). */
function jsonColumns(table: Table): Array<[string, JsonColumn<unknown>]> {
  return Object.entries(JSON_COLUMNS[table] as Record<string, JsonColumn<unknown>>)
}

/**
 * What a scalar column may hold, as SQLite hands it back (a column's declared type is no promise:
 * a file made by hand can put text in an INTEGER column). `?` allows NULL.
 */
type Kind =
  | 'text'
  | 'text?'
  | 'id'
  | 'int'
  | 'int?'
  | 'count'
  | 'port'
  | 'port?'
  | 'num'
  | 'flag'
  | 'blob'
  | 'sha256'
  | 'anchor'
  | 'capture?'
  | readonly (string | null)[]

export const RUN_STATUSES = ['running', 'complete', 'interrupted', 'device-lost'] as const
const OUTCOMES = ['pass', 'fail', 'not-run'] as const

/** Every scalar column of every table, by name. */
const SCALARS: Readonly<Record<Table, Readonly<Record<string, Kind>>>> = {
  runs: {
    id: 'id',
    label: 'text?',
    started_at: 'text',
    ended_at: 'text?',
    status: RUN_STATUSES,
    tool_version: 'text',
    hosts_file: 'text',
    hosts_hash: 'text',
    trust_store_hash: 'text',
    rig: 'text?',
    kind: ['survey', 'learn'],
  },
  attempts: {
    id: 'int',
    run_id: 'text',
    device: 'text',
    module: 'text?',
    firmware: 'text?',
    profile: 'text?',
    target: 'text',
    host: 'text',
    port: 'port',
    path: 'text',
    anchor_sha256: 'anchor',
    anchor_subject: 'text',
    anchor_source: 'text',
    try: 'count',
    final: 'flag',
    outcome: OUTCOMES,
    class: [...FAILURE_CLASSES, null],
    note: 'text?',
    http_status: 'int?',
    body_bytes: 'count',
    duration_ms: 'num',
    expect: ['pass', 'fail', null],
    observation_id: 'int?',
    recorded_at: 'text',
    reason: [...NOT_RUN_REASONS, null],
    reason_detail: 'text?',
  },
  observations: {
    id: 'int',
    target: 'text',
    host: 'text',
    port: 'port',
    observed_at: 'text',
    hello: 'text',
    ip: 'text?',
    sni: 'text?',
    protocol: 'text?',
    cipher: 'text?',
    capture: 'text?',
    chain_hash: 'text?',
    error_code: 'capture?',
    error_message: 'text?',
    run_id: 'text?',
    connect_port: 'port?',
  },
  certificates: {
    sha256: 'sha256',
    der: 'blob',
    subject: 'text',
    issuer: 'text',
    serial: 'text',
    ski: 'text?',
    aki: 'text?',
    key_type: 'text',
    key_bits: 'int?',
    key_curve: 'text?',
    signature: 'text',
    not_before: 'text',
    not_after: 'text',
    is_ca: 'flag',
    self_signed: 'flag',
    first_seen: 'text',
  },
}

const SHA256 = /^[0-9a-f]{64}$/

/**
 * Why `v` is not of `kind`, or null. Hand-written rather than a zod parse per value: a report
 * reads 200,000 attempts, and this costs nanoseconds where an object parse costs microseconds.
 */
export function kindProblem(kind: Kind, v: unknown): string | null {
  const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x)
  if (typeof kind !== 'string') {
    if (kind.includes(v as string | null)) return null
    return `expected one of ${kind.map((k) => (k === null ? 'NULL' : k)).join(', ')}`
  }
  if (v === null && kind.endsWith('?')) return null
  switch (kind) {
    case 'text':
    case 'text?':
      if (typeof v !== 'string') return 'expected text'
      return v.length > LIMITS.text ? `holds ${v.length} characters, over the limit of ${LIMITS.text}` : null
    case 'id':
      return typeof v === 'string' && v.length > 0 && v.length <= 200
        ? null
        : 'expected an id (text, 1 to 200 characters)'
    case 'int':
    case 'int?':
      return isInt(v) ? null : 'expected a whole number'
    case 'count':
      return isInt(v) && v >= 0 ? null : 'expected a whole number >= 0'
    case 'port':
    case 'port?':
      return isInt(v) && v >= 0 && v <= 65535 ? null : 'expected a port number (0-65535)'
    case 'num':
      return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'expected a number >= 0'
    case 'flag':
      return v === 0 || v === 1 ? null : 'expected 0 or 1'
    case 'blob':
      if (!Buffer.isBuffer(v)) return 'expected a BLOB'
      return v.length > LIMITS.der ? `holds ${v.length} bytes, over the limit of ${LIMITS.der}` : null
    case 'sha256':
      return typeof v === 'string' && SHA256.test(v) ? null : 'expected a sha256 (64 lower-case hex digits)'
    case 'anchor':
      return v === '-' || (typeof v === 'string' && SHA256.test(v)) ? null : 'expected a sha256 or -'
    case 'capture?':
      return isCaptureErrorCode(v) ? null : 'expected a capture error code (dns, refused, tls-alert:<name>…)'
  }
  return 'unknown column kind'
}

/**
 * The scalar checks of the columns a reader selects, in its order (a raw row); JSON columns among
 * them are skipped (the reader parses those with their schema).
 */
export function scalarCheck(table: Table, columns: readonly string[]): (row: readonly unknown[]) => RowProblem | null {
  const kinds = columns.map((c) => {
    const k = SCALARS[table][c]
    if (!k && !jsonColumns(table).some(([name]) => name === c))
      throw new Error(`${table}.${c} is no column of the store`)
    return k ?? null
  })
  return (row) => {
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[i]
      if (!kind) continue
      const why = kindProblem(kind, row[i])
      if (why) return { column: columns[i]!, problem: scalarText(row[i], why) }
    }
    return null
  }
}

/** Columns a row of `table` has at the current schema (the ones this file knows of). */
export function knownColumns(table: Table): string[] {
  return [...Object.keys(SCALARS[table]), ...jsonColumns(table).map(([name]) => name)]
}

/** One issue of a failed parse, as a person reads it: where in the value, and what was wrong. */
export function issueText(err: z.ZodError): string {
  const i = err.issues[0]
  if (!i) return 'invalid'
  const where = i.path.length
    ? `at ${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: `
    : ''
  return `${where}${i.message}`.slice(0, 300)
}

/** Parses one JSON column's text; the problem in words when it is not what the column holds. */
export function readJsonColumn<T>(
  col: JsonColumn<T>,
  value: unknown,
): { ok: true; value: T | null } | { ok: false; problem: string } {
  if (value === null || value === undefined)
    return col.nullable ? { ok: true, value: null } : { ok: false, problem: 'is NULL' }
  if (typeof value !== 'string') return { ok: false, problem: `is a ${sqlType(value)}, not JSON text` }
  if (value.length > col.limit)
    return { ok: false, problem: `holds ${value.length} characters, over the limit of ${col.limit}` }
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (err) {
    return { ok: false, problem: `is not JSON (${(err as Error).message.slice(0, 120)})` }
  }
  if (parsed === null && col.nullable) return { ok: true, value: null }
  const r = col.schema.safeParse(parsed)
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, problem: `is not what it must hold (${issueText(r.error)})` }
}

/**
 * Checks one whole row of `table` (every column SELECT * gives): scalar types, sizes, every JSON
 * column, and a certificate's sha256 against its DER. Null when the row is sound.
 */
export function rowProblem(table: Table, row: Record<string, unknown>): RowProblem | null {
  for (const [column, kind] of Object.entries(SCALARS[table])) {
    const why = kindProblem(kind, row[column])
    if (why) return { column, problem: scalarText(row[column], why) }
  }
  for (const [column, col] of jsonColumns(table)) {
    const r = readJsonColumn(col, row[column])
    if (!r.ok) return { column, problem: r.problem }
  }
  if (table === 'certificates') {
    if (
      createHash('sha256')
        .update(row.der as Buffer)
        .digest('hex') !== row.sha256
    )
      return { column: 'sha256', problem: 'is not the sha256 of the certificate in der' }
  }
  return null
}

function scalarText(v: unknown, why: string): string {
  return why.startsWith('holds ') ? why : `holds ${describe(v)}, ${why}`
}

function sqlType(v: unknown): string {
  return Buffer.isBuffer(v) ? 'BLOB' : typeof v === 'number' || typeof v === 'bigint' ? 'number' : typeof v
}

/** A value as a message shows it: short, one line. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'NULL'
  if (Buffer.isBuffer(v)) return `a BLOB of ${v.length} bytes`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  // SQLite holds nothing else; said by its type rather than as [object Object].
  return `a ${typeof v}`
}
