import { z } from 'zod'
import { AppError } from '../core/errors.js'
import { isMissing, keysAt, pathText } from '../core/schema-text.js'
import { CIPHER_SUITES, GROUPS, TLS_VERSIONS } from '../chain/iana.js'
import { dnsNameProblem } from '../hosts/index.js'

export const KEY_SPECS = ['rsa-1024', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384', 'ec-p521'] as const
export type KeySpec = (typeof KEY_SPECS)[number]
export const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const
export type HashName = (typeof HASHES)[number]
export const BEHAVIOURS = ['tls', 'stall', 'garbage', 'plain-http', 'close'] as const
export type Behaviour = (typeof BEHAVIOURS)[number]

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** One certificate of the lab PKI. Validity offsets are days relative to generation time. */
const CERT = z.strictObject(
  {
    /** The subject DN; omitted with `sameAs`. */
    subject: z
      .string()
      .refine((s) => s.includes('='), 'subject must be a DN such as "CN=Lab Root, O=tlsmatrix"')
      .optional(),
    /** Key to generate, or omitted with `sameAs` / `keyOf`. */
    key: z.enum(KEY_SPECS, { error: `key must be one of ${KEY_SPECS.join(', ')}` }).optional(),
    /** Reuse the key of another certificate (a re-issued or cross-signed CA). */
    keyOf: z.string().optional(),
    /** Copy subject and key of another certificate: a cross-sign of it by `issuer`. */
    sameAs: z.string().optional(),
    /** "self" or the name of the issuing certificate. */
    issuer: z.string({ error: 'issuer must be "self" or the name of a certificate' }),
    signature: z.enum(HASHES, { error: `signature must be one of ${HASHES.join(', ')}` }).optional(),
    ca: z.boolean().optional(),
    pathLen: z.number().int().nonnegative().optional(),
    notBeforeDays: z.number().optional(),
    notAfterDays: z.number().optional(),
    sans: z
      .array(
        z.string().refine((san) => !dnsNameProblem(san.replace(/^\*\./, '')), {
          error: (i) => `SAN ${JSON.stringify(i.input)} is not a DNS name`,
        }),
      )
      .optional(),
    /** Adds this many generated DNS names (san-N.<first SAN>) to make a large leaf. */
    extraSans: z.number().int().min(0).max(5000, 'extraSans must be 0-5000').optional(),
    /** Put an AIA caIssuers URL for the issuer, served by the lab's HTTP server. */
    aia: z.boolean().optional(),
    /** Omit the SubjectKeyIdentifier / AuthorityKeyIdentifier extensions. */
    ski: z.boolean().optional(),
    aki: z.boolean().optional(),
    /** Write this certificate to the lab's trust-store file. */
    trust: z.boolean().optional(),
  },
  { error: 'must be an object (a certificate)' },
)

const SERVER = z.strictObject({
  versions: z
    .array(z.enum(TLS_VERSIONS, { error: (i) => `unknown TLS version ${JSON.stringify(i.input)}` }))
    .optional(),
  /** IANA suite names; TLS 1.3 suites are fixed by the library. */
  cipherSuites: z
    .array(
      z.string().refine((s) => Object.hasOwn(CIPHER_SUITES, s), {
        error: (i) => `unknown cipher suite ${JSON.stringify(i.input)}`,
      }),
    )
    .optional(),
  groups: z
    .array(
      z.string().refine((g) => Object.hasOwn(GROUPS, g), { error: (i) => `unknown group ${JSON.stringify(i.input)}` }),
    )
    .optional(),
  behaviour: z.enum(BEHAVIOURS, { error: `behaviour must be one of ${BEHAVIOURS.join(', ')}` }).optional(),
  /** Fixed port; omitted or 0 picks a free one. */
  port: z.number().int().min(0).max(65535, 'port must be 0-65535').optional(),
})

/** Another chain the same host can be switched to while it runs (a re-issued leaf or intermediate). */
const ROTATION = z.strictObject(
  {
    /** Leaf certificate name; defaults to the host's. */
    certificate: z.string().optional(),
    /** Certificates sent, in order; the first must be this rotation's certificate. Defaults to the leaf alone. */
    send: z
      .array(z.string(), { error: 'send must be a non-empty array of certificate names' })
      .min(1, 'send must be a non-empty array of certificate names')
      .optional(),
  },
  { error: 'must be an object { certificate, send }' },
)

const HOST = z.strictObject(
  {
    description: z.string().optional(),
    /**
     * The port the target is known by (its real one, e.g. 443): hosts.txt names it and the lab
     * prints a --connect-to entry to its listener, so target ids stay the same from lab to lab.
     * Omitted: the target is known by its listener's port (and mapped with --resolve).
     */
    port: z
      .number()
      .int()
      .min(1, 'port must be 1-65535 (the port the target is known by)')
      .max(65535, 'port must be 1-65535 (the port the target is known by)')
      .optional(),
    /** Leaf certificate name (the key the server proves). */
    certificate: z.string().optional(),
    /** Certificates sent, in order, duplicates allowed; the first must be `certificate`. */
    send: z.array(z.string()).optional(),
    server: SERVER.optional(),
    /** Alternative chains: `RunningLab.rotate(host, i)` serves rotations[i-1] (0 is the chain above). */
    rotations: z.array(ROTATION, { error: 'must be an array of { certificate, send }' }).optional(),
    tags: z.array(z.string()).optional(),
    expect: z.enum(['pass', 'fail'], { error: 'expect must be pass or fail' }).optional(),
  },
  { error: 'must be an object (a host)' },
)

/** A lab: its PKI and its servers, declared once; the types below come from it. */
const LAB_SPEC = z
  .strictObject(
    {
      name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be 1-40 lower-case letters, digits, -'),
      description: z.string().optional(),
      aia: z.strictObject({ host: z.string(), port: z.number().int().min(0).max(65535).optional() }).optional(),
      certificates: z.record(z.string(), CERT, { error: 'must be an object' }),
      hosts: z.record(z.string(), HOST, { error: 'must name at least one host' }),
    },
    { error: 'not a JSON object' },
  )
  // Names that must refer to each other, checked on every entry whose own fields hold, whatever
  // else is wrong: one run names every problem.
  .superRefine((spec: unknown, ctx) => crossReferences(spec, ctx), { when: () => true })

export type CertSpec = z.output<typeof CERT>
export type ServerSpec = z.output<typeof SERVER>
export type RotationSpec = z.output<typeof ROTATION>
export type HostSpec = z.output<typeof HOST>
export type LabSpec = z.output<typeof LAB_SPEC>

/** A name that refers to a certificate, read for the cross-checks whatever else is wrong (not one: absent). */
const ref = z.string().optional().catch(undefined)
const names = z.array(z.string()).min(1).optional().catch(undefined)
/** What the cross-checks read of each entry: the names it gives, whatever else is wrong with it. */
const CERT_REFS = z.looseObject({
  sameAs: ref,
  keyOf: ref,
  issuer: ref,
  subject: z.unknown().optional(),
  key: z.unknown().optional(),
  aia: z.unknown().optional(),
})
const ROTATION_REFS = z.looseObject({ certificate: ref, send: names })
const HOST_REFS = z.looseObject({
  certificate: ref,
  send: names,
  server: z.looseObject({ behaviour: z.unknown().optional() }).optional().catch(undefined),
  rotations: z.unknown().optional(),
})

/**
 * The names that must refer to one another (a schema checks each entry alone): checked on every
 * entry, whatever else is wrong with it, so that one run names every problem.
 */
function crossReferences(raw: unknown, ctx: z.RefinementCtx): void {
  const spec = isRecord(raw) ? raw : {}
  const certs = isRecord(spec.certificates) ? spec.certificates : {}
  const isCert = (name: string | undefined) => name !== undefined && Object.hasOwn(certs, name)
  const fail = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message })
  for (const [name, entry] of Object.entries(certs)) {
    const c = CERT_REFS.safeParse(entry)
    if (!c.success) continue
    const at = ['certificates', name]
    const { sameAs, keyOf, issuer } = c.data
    if (sameAs !== undefined) {
      if (!isCert(sameAs)) fail(at, `sameAs "${sameAs}" is not a certificate`)
    } else {
      if (c.data.subject === undefined) fail(at, 'subject must be a DN such as "CN=Lab Root, O=tlsmatrix"')
      if (keyOf !== undefined) {
        if (!isCert(keyOf)) fail(at, `keyOf "${keyOf}" is not a certificate`)
      } else if (c.data.key === undefined) fail(at, `key must be one of ${KEY_SPECS.join(', ')}`)
    }
    if (issuer !== undefined && issuer !== 'self' && !isCert(issuer))
      fail(at, `issuer "${issuer}" is not "self" or a certificate`)
    if (c.data.aia === true && issuer === 'self') fail(at, 'aia needs an issuer other than self')
  }
  if (!isRecord(spec.hosts)) return
  if (Object.keys(spec.hosts).length === 0) fail(['hosts'], 'must name at least one host')
  for (const [name, entry] of Object.entries(spec.hosts)) {
    const at = ['hosts', name]
    const why = dnsNameProblem(name)
    if (why) fail(at, why)
    const h = HOST_REFS.safeParse(entry)
    if (!h.success) continue
    const tls = (h.data.server?.behaviour ?? 'tls') === 'tls'
    if (tls) {
      if (!isCert(h.data.certificate)) fail(at, 'certificate must name a certificate')
      const send = h.data.send ?? [h.data.certificate ?? '']
      if (send[0] !== h.data.certificate) fail(at, 'send must start with the host certificate')
      for (const s of send) if (!isCert(s)) fail(at, `send: "${s}" is not a certificate`)
    }
    if (!Array.isArray(h.data.rotations)) continue
    if (!tls) fail([...at, 'rotations'], 'only a tls server has a chain to rotate')
    h.data.rotations.forEach((entry: unknown, i) => {
      const r = ROTATION_REFS.safeParse(entry)
      if (!r.success) return
      const rat = [...at, 'rotations', i]
      const leaf = r.data.certificate ?? h.data.certificate
      if (!isCert(leaf)) fail(rat, 'certificate must name a certificate')
      const send = r.data.send ?? (leaf === undefined ? [] : [leaf])
      if (send[0] !== leaf) fail(rat, "send must start with the rotation's certificate")
      for (const s of send) if (!isCert(s)) fail(rat, `send: "${s}" is not a certificate`)
    })
  }
}

/** Validates a parsed JSON spec; every problem names its JSON path. */
export function validateLabSpec(raw: unknown, source: string): LabSpec {
  const parsed = LAB_SPEC.safeParse(raw)
  if (parsed.success) return parsed.data
  throw new AppError(
    'LAB_SPEC_INVALID',
    parsed.error.issues.flatMap((issue) => problemText(issue).map((p) => `${source}: ${p}`)).join('\n'),
  )
}

/**
 * One issue as the message lists it: `hosts.a.test: certificate must name a certificate`. A
 * message that names its field (`key must be one of …`) is shown at the entry that holds it.
 */
function problemText(issue: z.core.$ZodIssue): string[] {
  const { path } = issue
  if (path.length === 0) return [issue.message]
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(LAB_SPEC, path) ?? []
    return issue.keys.map((k) => `${pathText(path) || '$'}: unknown key ${JSON.stringify(k)} (${allowed.join(', ')})`)
  }
  const last = path[path.length - 1]
  const message = isMissing(issue) ? `${typeof last === 'string' ? last : 'it'} is missing` : issue.message
  if (typeof last === 'string' && path.length > 1 && message.startsWith(`${last} `))
    return [`${pathText(path.slice(0, -1))}: ${message}`]
  return [`${pathText(path)}: ${message}`]
}
