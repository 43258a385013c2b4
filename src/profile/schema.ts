import { z } from 'zod'
import { toNodeHello } from '../chain/hello.js'
import { TLS_VERSIONS } from '../chain/iana.js'
import { templateProblem } from './template.js'

/**
 * The fixed vocabulary of why an attempt failed (README "Failure classes").
 *
 * `clock`: every certificate is valid only from later than the module's clock (a clock never set);
 * `unspecified`: the module said it failed and not why (ESP-AT before v5.0 prints a bare ERROR for
 * every failure): the report's why then comes from the prediction alone. Classification tries the
 * classes in this order, so `unspecified` comes after every class with its own lines.
 */
export const FAILURE_CLASSES = [
  'dns',
  'connect',
  'handshake',
  'untrusted',
  'key-unsupported',
  'expired',
  'clock',
  'hostname',
  'too-large',
  'http',
  'timeout',
  'unspecified',
  'device',
] as const
export type FailureClass = (typeof FAILURE_CLASSES)[number]

/** How a learned field was obtained: read from the ClientHello, measured by probes, or assumed. */
export const LEARN_METHODS = ['hello', 'probe', 'assumed'] as const

/** Set on a profile `tlsmatrix learn` wrote: how each field was obtained, and its evidence. */
function learnedSchema(object: typeof z.strictObject) {
  const field = object({
    method: z.enum(LEARN_METHODS),
    /** The attempts (ids in the learn run) that show it. */
    attempts: z.array(z.number().int()),
    /** What else the probes showed about it (e.g. offered but never completed). */
    note: z.string().optional(),
  })
  return object({
    /** tlsmatrix version, learn run id, device URL, when. */
    tool: z.string(),
    runId: z.string(),
    device: z.string(),
    at: z.string(),
    /** The shipped profile compared with, whose grammar (`responses`) and unmeasured values were taken. */
    base: z.string(),
    cost: object({ uploads: z.number(), requests: z.number(), deviceMs: z.number() }),
    /** Per field path (`tls.cipherSuites`, `errors.expired`…). */
    fields: z.record(z.string(), field),
    /** Field paths not measured (budget, a probe without a verdict): their values are the base's. */
    unknown: z.array(object({ field: z.string(), why: z.string() })),
    /** What the probes showed that no profile field holds (CN-only leaves, an extra certificate…). */
    facts: z.record(z.string(), z.unknown()),
  })
}

/**
 * How strictly a profile is read. `file`: a profile being loaded (data/firmware, --profiles, a
 * learned one): every key must be known (a misspelt field is refused, not its default used
 * silently), and its templates and ClientHello names are checked. `stored`: a snapshot a run kept
 * in its database, read back later, perhaps by another version: unknown keys pass (a family's own
 * block, a field or failure class a newer tlsmatrix added) and a field a hand-written profile
 * could lack before the loader required it reads as that old loader treated its absence.
 */
type Mode = 'file' | 'stored'

/** The firmware profile, declared once: the type, the loader's checks and the store's reading come from here. */
function profileSchema(mode: Mode) {
  const file = mode === 'file'
  // The same declaration in both modes; a snapshot's objects keep keys this version does not know.
  const object = file ? z.strictObject : z.looseObject
  const bool = z.boolean({ error: 'must be true or false' })
  const strings = z.array(z.string(), { error: 'must be a list of strings' })
  /** One line of the module's answer, as a template (`{n}`, `{text}`): refused when the matcher will not take it. */
  const template = z
    .string()
    .regex(/^[^\r\n]*$/, 'must be a single line')
    .superRefine((t, ctx) => {
      const why = file ? templateProblem(t) : null
      if (why) ctx.addIssue({ code: 'custom', message: why })
    })
  /** A field a snapshot may lack (a hand-written profile from before the loader required it): read as `absent`. */
  const since = <T extends z.ZodType<unknown, unknown>>(schema: T, absent: z.output<T>): T =>
    file ? schema : (schema.optional().transform((v) => v ?? absent) as unknown as T)
  const bytes = z.number().int().positive().nullable()

  const tls = object({
    versions: z.array(z.enum(TLS_VERSIONS, { error: `must be ${TLS_VERSIONS.join(', ')}` })),
    cipherSuites: z.array(z.string()),
    groups: z.array(z.string()),
    signatureAlgorithms: z.array(z.string()),
    sni: since(bool, false),
    certificateKeys: object(
      {
        rsa: object({ minBits: since(z.number().int().nonnegative(), 0), maxBits: z.number().int().positive() }),
        ecdsa: strings,
      },
      { error: 'must be { rsa: { minBits, maxBits }, ecdsa: [curves] }' },
    ),
    certificateSignatureHashes: strings,
    maxCertificateBytes: since(bytes, null),
    maxChainBytes: since(bytes, null),
    anchorMatch: z.enum(['ski-aki', 'path'], { error: 'must be ski-aki or path' }),
    checkValidity: since(bool, false),
    checkHostname: since(bool, false),
  }).superRefine((t, ctx) => {
    // The ClientHello a resolver and the emulator's client build from it: every name must be one Node can send.
    if (!file) return
    try {
      toNodeHello(t)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message })
    }
  })

  /** Per failure class, its lines; a snapshot keeps classes this version does not know, in an object with no prototype. */
  const errors: z.ZodType<Partial<Record<FailureClass, string[]>>, unknown> = file
    ? z.partialRecord(
        z.enum(FAILURE_CLASSES),
        z
          .array(template, { error: 'must be a list of single lines' })
          .min(1, 'must be a non-empty list of single lines'),
        { error: 'must map failure classes to lines' },
      )
    : z.record(z.string(), z.array(z.string())).transform((r) => Object.assign(Object.create(null) as object, r))

  return object({
    /** The profile's name, and its file's (`<id>.json`). */
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a file-name-safe string'),
    /** One of the modules its family lists. */
    module: z.string({ error: 'must be a module name' }),
    firmware: file
      ? z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a version such as 1.1.0')
      : z.string({ error: 'must be a version' }),
    build: since(z.string({ error: 'must be a string' }), ''),
    /** A registered module family's id (src/families), e.g. `spwf04`. */
    dialect: z.string({ error: 'must be a family name' }),
    /** Each assumption and its source; guesses say GUESS. */
    notes: since(strings, []),
    tls,
    /**
     * The CA store: `caSlots` CAs at once, each up to `maxCaBytes` (as uploaded). `caBundle`: one slot
     * takes a PEM bundle of several CAs, `maxCaBytes` in all (absent: one CA per slot). tlsmatrix
     * uploads one CA at a time either way; this says what a product can be provisioned with.
     */
    store: object({
      maxCaBytes: z.number({ error: 'must be a number' }).int().positive(),
      caSlots: since(
        z.number().int('must be a whole number of 1 or more').min(1, 'must be a whole number of 1 or more'),
        1,
      ),
      caBundle: z.boolean({ error: 'must be true or false (one slot takes a PEM bundle of several CAs)' }).optional(),
    }),
    /**
     * The grammar of a request's response besides the error table: informational lines and final
     * lines (`{n}` a number, `{text}` printable text). A response with any other line, or no final
     * line, was damaged on the link and is never classified.
     */
    responses: since(
      object(
        {
          info: z.array(template.pipe(z.string().min(1, 'must not be empty'))),
          final: z
            .array(template.pipe(z.string().min(1, 'must not be empty')))
            .min(file ? 1 : 0, 'must name at least one final line'),
        },
        { error: 'must be { info: [lines], final: [lines] } (the grammar of a response)' },
      ),
      { info: [], final: [] },
    ),
    /**
     * Per failure class, the lines the module prints for it (before, or as, its final error line).
     * `{n}` stands for a number. The emulator prints them; drivers classify by them.
     */
    errors,
    /** Set on a profile `tlsmatrix learn` wrote: how each field was obtained, and its evidence. */
    learned: learnedSchema(object).optional(),
  })
}

/** A profile as a file holds it (the family's own block aside: see `DialectRules.profileBlock`). */
export const PROFILE = profileSchema('file')

/** A firmware's capabilities and error table: data under data/firmware, never code. */
export type FirmwareProfile = z.output<typeof PROFILE>
export type LearnedInfo = z.output<ReturnType<typeof learnedSchema>>
export type LearnedField = LearnedInfo['fields'][string]
export type LearnMethod = LearnedField['method']

/**
 * A profile snapshot as a run stored it (runs.profiles), read back: the same fields, leniently
 * (see Mode): every snapshot a run stored is read, a family's own blocks and fields a newer
 * tlsmatrix adds pass, and a field an older profile lacked reads as it was treated then.
 */
export const PROFILE_SNAPSHOT: z.ZodType<FirmwareProfile, unknown> = profileSchema('stored')
