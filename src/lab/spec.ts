import { AppError } from '../core/errors.js'
import { CIPHER_SUITES, GROUPS, TLS_VERSIONS, type TlsVersion } from '../chain/iana.js'
import { dnsNameProblem } from '../hosts/index.js'

export const KEY_SPECS = ['rsa-1024', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384', 'ec-p521'] as const
export type KeySpec = (typeof KEY_SPECS)[number]
export const HASHES = ['sha1', 'sha256', 'sha384', 'sha512'] as const
export type HashName = (typeof HASHES)[number]
export const BEHAVIOURS = ['tls', 'stall', 'garbage', 'plain-http', 'close'] as const
export type Behaviour = (typeof BEHAVIOURS)[number]

/** One certificate of the lab PKI. Validity offsets are days relative to generation time. */
export interface CertSpec {
  subject: string
  /** Key to generate, or omitted with `sameAs` / `keyOf`. */
  key?: KeySpec
  /** Reuse the key of another certificate (a re-issued or cross-signed CA). */
  keyOf?: string
  /** Copy subject and key of another certificate: a cross-sign of it by `issuer`. */
  sameAs?: string
  /** "self" or the name of the issuing certificate. */
  issuer: string
  signature?: HashName
  ca?: boolean
  pathLen?: number
  notBeforeDays?: number
  notAfterDays?: number
  sans?: string[]
  /** Adds this many generated DNS names (san-N.<first SAN>) to make a large leaf. */
  extraSans?: number
  /** Put an AIA caIssuers URL for the issuer, served by the lab's HTTP server. */
  aia?: boolean
  /** Omit the SubjectKeyIdentifier / AuthorityKeyIdentifier extensions. */
  ski?: boolean
  aki?: boolean
  /** Write this certificate to the lab's trust-store file. */
  trust?: boolean
}

export interface ServerSpec {
  versions?: TlsVersion[]
  /** IANA suite names; TLS 1.3 suites are fixed by the library. */
  cipherSuites?: string[]
  groups?: string[]
  behaviour?: Behaviour
  /** Fixed port; omitted or 0 picks a free one. */
  port?: number
}

/** Another chain the same host can be switched to while it runs (a re-issued leaf or intermediate). */
export interface RotationSpec {
  /** Leaf certificate name; defaults to the host's. */
  certificate?: string
  /** Certificates sent, in order; the first must be this rotation's certificate. Defaults to the leaf alone. */
  send?: string[]
}

export interface HostSpec {
  description?: string
  /**
   * The port the target is known by (its real one, e.g. 443): hosts.txt names it and the lab
   * prints a --connect-to entry to its listener, so target ids stay the same from lab to lab.
   * Omitted: the target is known by its listener's port (and mapped with --resolve).
   */
  port?: number
  /** Leaf certificate name (the key the server proves). */
  certificate?: string
  /** Certificates sent, in order, duplicates allowed; the first must be `certificate`. */
  send?: string[]
  server?: ServerSpec
  /** Alternative chains: `RunningLab.rotate(host, i)` serves rotations[i-1] (0 is the chain above). */
  rotations?: RotationSpec[]
  tags?: string[]
  expect?: 'pass' | 'fail'
}

export interface LabSpec {
  name: string
  description?: string
  aia?: { host: string; port?: number }
  certificates: Record<string, CertSpec>
  hosts: Record<string, HostSpec>
}

/** Validates a parsed JSON spec; every problem names its JSON path. */
export function validateLabSpec(raw: unknown, source: string): LabSpec {
  const problems: string[] = []
  const fail = (path: string, why: string) => problems.push(`${source}: ${path}: ${why}`)
  if (typeof raw !== 'object' || raw === null) throw new AppError('LAB_SPEC_INVALID', `${source}: not a JSON object`)
  const spec = raw as LabSpec
  if (typeof spec.name !== 'string' || !/^[a-z0-9-]{1,40}$/.test(spec.name))
    fail('name', 'must be 1-40 lower-case letters, digits, -')
  const certs = spec.certificates ?? {}
  const hosts = spec.hosts ?? {}
  if (typeof certs !== 'object') fail('certificates', 'must be an object')
  if (typeof hosts !== 'object' || Object.keys(hosts).length === 0) fail('hosts', 'must name at least one host')
  for (const [name, c] of Object.entries(certs)) {
    const at = `certificates.${name}`
    if (c.sameAs !== undefined) {
      if (!(c.sameAs in certs)) fail(at, `sameAs "${c.sameAs}" is not a certificate`)
    } else {
      if (typeof c.subject !== 'string' || !c.subject.includes('='))
        fail(at, 'subject must be a DN such as "CN=Lab Root, O=tlsmatrix"')
      if (c.keyOf !== undefined) {
        if (!(c.keyOf in certs)) fail(at, `keyOf "${c.keyOf}" is not a certificate`)
      } else if (!KEY_SPECS.includes(c.key as KeySpec)) fail(at, `key must be one of ${KEY_SPECS.join(', ')}`)
    }
    if (c.issuer !== 'self' && !(c.issuer in certs)) fail(at, `issuer "${c.issuer}" is not "self" or a certificate`)
    if (c.signature !== undefined && !HASHES.includes(c.signature))
      fail(at, `signature must be one of ${HASHES.join(', ')}`)
    if (c.extraSans !== undefined && (!Number.isInteger(c.extraSans) || c.extraSans < 0 || c.extraSans > 5000))
      fail(at, 'extraSans must be 0-5000')
    for (const san of c.sans ?? [])
      if (dnsNameProblem(san.replace(/^\*\./, ''))) fail(at, `SAN "${san}" is not a DNS name`)
    if (c.aia && c.issuer === 'self') fail(at, 'aia needs an issuer other than self')
  }
  for (const [name, h] of Object.entries(hosts)) {
    const at = `hosts.${name}`
    const why = dnsNameProblem(name)
    if (why) fail(at, why)
    const behaviour = h.server?.behaviour ?? 'tls'
    if (!BEHAVIOURS.includes(behaviour)) fail(at, `behaviour must be one of ${BEHAVIOURS.join(', ')}`)
    if (behaviour === 'tls') {
      if (!h.certificate || !(h.certificate in certs)) fail(at, 'certificate must name a certificate')
      const send = h.send ?? [h.certificate ?? '']
      if (send[0] !== h.certificate) fail(at, 'send must start with the host certificate')
      for (const s of send) if (!(s in certs)) fail(at, `send: "${s}" is not a certificate`)
    }
    if (h.rotations !== undefined) validateRotations(h, at, certs, behaviour, fail)
    for (const v of h.server?.versions ?? []) if (!TLS_VERSIONS.includes(v)) fail(at, `unknown TLS version "${v}"`)
    for (const s of h.server?.cipherSuites ?? [])
      if (!Object.hasOwn(CIPHER_SUITES, s)) fail(at, `unknown cipher suite "${s}"`)
    for (const g of h.server?.groups ?? []) if (!Object.hasOwn(GROUPS, g)) fail(at, `unknown group "${g}"`)
    if (h.port !== undefined && (!Number.isInteger(h.port) || h.port < 1 || h.port > 65535))
      fail(at, 'port must be 1-65535 (the port the target is known by)')
    const port = h.server?.port
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) fail(at, 'port must be 0-65535')
  }
  if (problems.length > 0) throw new AppError('LAB_SPEC_INVALID', problems.join('\n'))
  return spec
}

function validateRotations(
  h: HostSpec,
  at: string,
  certs: Record<string, CertSpec>,
  behaviour: Behaviour,
  fail: (path: string, why: string) => void,
): void {
  if (!Array.isArray(h.rotations)) {
    fail(`${at}.rotations`, 'must be an array of { certificate, send }')
    return
  }
  if (behaviour !== 'tls') fail(`${at}.rotations`, 'only a tls server has a chain to rotate')
  h.rotations.forEach((r, i) => {
    const rat = `${at}.rotations[${i}]`
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      fail(rat, 'must be an object { certificate, send }')
      return
    }
    for (const k of Object.keys(r))
      if (k !== 'certificate' && k !== 'send') fail(rat, `unknown key "${k}" (certificate, send)`)
    const leaf = r.certificate ?? h.certificate
    if (typeof leaf !== 'string' || !(leaf in certs)) fail(rat, 'certificate must name a certificate')
    if (r.send !== undefined && (!Array.isArray(r.send) || r.send.length === 0)) {
      fail(rat, 'send must be a non-empty array of certificate names')
      return
    }
    const send = r.send ?? [leaf]
    if (send[0] !== leaf) fail(rat, "send must start with the rotation's certificate")
    for (const s of send)
      if (typeof s !== 'string' || !(s in certs)) fail(rat, `send: "${String(s)}" is not a certificate`)
  })
}
