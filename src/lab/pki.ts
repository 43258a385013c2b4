import { generateKeyPair, webcrypto, createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { AppError } from '../core/errors.js'
import { x509Lib, type X509 } from '../core/x509.js'
import type { CertSpec, HashName, KeySpec, LabSpec } from './spec.js'

const generateKeyPairAsync = promisify(generateKeyPair)
const subtle = webcrypto.subtle
const DAY = 86_400_000
/** A private arc of ours: an extension no verifier knows, non-critical, so it only adds bytes. */
export const PAD_OID = '1.3.6.1.4.1.55555.1.1'

/** A key pair, as generated and as cached: the lab's and the probes' (`tlsmatrix learn`) alike. */
export interface KeyMaterial {
  spec: KeySpec
  /** PKCS#8 DER private key and SPKI DER public key. */
  pkcs8: Buffer
  spki: Buffer
}

export interface IssuedCert {
  name: string
  der: Buffer
  keyName: string
}

/** The signature an issuer makes: a hash (PKCS#1 v1.5 or ECDSA), or RSASSA-PSS SHA-256 salt 32 (RSA issuer only). */
export type CertSignature = HashName | 'rsa-pss'

/** Everything one certificate says, chosen by the caller: the lab from its spec, learn per probe. */
export interface CertificateRequest {
  /** Hex, without a leading sign bit (start it with 01). */
  serial: string
  subject: string
  issuer: string
  notBefore: Date
  notAfter: Date
  /** The subject's key, and the issuer's (the same for a self-signed certificate). */
  key: KeyMaterial
  issuerKey: KeyMaterial
  signature: CertSignature
  ca: boolean
  pathLen?: number
  /** SubjectKeyIdentifier, and AuthorityKeyIdentifier naming the issuer key's id. */
  ski: boolean
  aki: boolean
  /** DNS SANs; empty: no SAN extension (a CN-only certificate). */
  sans: readonly string[]
  /** ExtendedKeyUsage serverAuth. */
  serverAuth: boolean
  /** An AIA caIssuers URL, or null. */
  aiaIssuer: string | null
  /** Bytes carried in a private, non-critical extension (PAD_OID) to grow the certificate. */
  padBytes: number
}

/** Resolves which key each certificate uses (own, keyOf, sameAs), refusing cycles. */
export function keyOwners(spec: LabSpec): Map<string, { keyName: string; keySpec: KeySpec }> {
  const out = new Map<string, { keyName: string; keySpec: KeySpec }>()
  for (const name of Object.keys(spec.certificates)) {
    let cur = name
    const seen = new Set<string>()
    for (;;) {
      if (seen.has(cur))
        throw new AppError(
          'LAB_SPEC_INVALID',
          `certificates.${name}: keyOf/sameAs loop through ${[...seen].join(' -> ')}`,
        )
      seen.add(cur)
      const c = spec.certificates[cur]!
      const next = c.sameAs ?? c.keyOf
      if (next === undefined) {
        out.set(name, { keyName: cur, keySpec: c.key! })
        break
      }
      cur = next
    }
  }
  return out
}

export async function generateKey(spec: KeySpec): Promise<KeyMaterial> {
  const [kind, size] = spec.split('-') as ['rsa' | 'ec', string]
  const enc = {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  } as const
  const pair =
    kind === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: Number(size), publicExponent: 65537, ...enc })
      : await generateKeyPairAsync('ec', { namedCurve: CURVES[spec as keyof typeof CURVES], ...enc })
  return { spec, pkcs8: pair.privateKey as unknown as Buffer, spki: pair.publicKey as unknown as Buffer }
}

const HASHES = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const
const CURVES = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' } as const
type SignAlgorithm =
  webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | { name: 'RSA-PSS'; hash: string; saltLength: number }

const isRsa = (spec: KeySpec) => spec.startsWith('rsa')

/** The algorithm a public key is imported with (the hash does not matter for a key that only verifies). */
function keyAlgorithm(spec: KeySpec): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  if (isRsa(spec)) return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  return { name: 'ECDSA', namedCurve: CURVES[spec as keyof typeof CURVES] }
}

function signAlgorithm(issuer: KeySpec, signature: CertSignature): SignAlgorithm {
  if (signature === 'rsa-pss') {
    if (!isRsa(issuer)) throw new AppError('USAGE', `an RSA-PSS signature needs an RSA issuer key, not ${issuer}`)
    return { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 }
  }
  const hash = HASHES[signature]
  if (!hash) throw new AppError('USAGE', `unknown signature "${String(signature)}"`)
  if (isRsa(issuer)) return { name: 'RSASSA-PKCS1-v1_5', hash }
  return { name: 'ECDSA', namedCurve: CURVES[issuer as keyof typeof CURVES], hash }
}

/**
 * WebCrypto imports and key ids of a key, made once: sizing (learn) issues hundreds of certificates
 * with one key. Held by the key itself, so they go when it does.
 */
const imported = new WeakMap<KeyMaterial, Map<string, Promise<webcrypto.CryptoKey | string>>>()
function once<T extends webcrypto.CryptoKey | string>(
  key: KeyMaterial,
  id: string,
  make: () => Promise<T>,
): Promise<T> {
  const m = imported.get(key) ?? new Map<string, Promise<webcrypto.CryptoKey | string>>()
  imported.set(key, m)
  let v = m.get(id)
  if (!v) {
    v = make()
    m.set(id, v)
    v.catch(() => m.delete(id))
  }
  return v as Promise<T>
}

const publicKeyOf = (key: KeyMaterial) =>
  once(key, 'verify', () => subtle.importKey('spki', key.spki, keyAlgorithm(key.spec), true, ['verify']))

/** The key id @peculiar/x509 computes (SHA-1 of the public key bits, RFC 5280 §4.2.1.2 (1)), hex lower-case. */
export function keyIdOf(key: KeyMaterial): Promise<string> {
  return once(key, 'id', async () =>
    (await x509Lib().SubjectKeyIdentifierExtension.create(await publicKeyOf(key))).keyId.toLowerCase(),
  )
}

/** A DER length field for `n` bytes of content. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/**
 * One certificate, DER: the one place a certificate is made, for the lab and for learn's probes.
 * An end entity's key usage follows its key: RSA key exchange encrypts to the leaf's key, an ECDSA
 * key only signs.
 */
export async function buildCertificate(r: CertificateRequest): Promise<Buffer> {
  const x509 = x509Lib()
  const signAlg = signAlgorithm(r.issuerKey.spec, r.signature)
  const signingKey = await once(r.issuerKey, `sign/${JSON.stringify(signAlg)}`, () =>
    subtle.importKey('pkcs8', r.issuerKey.pkcs8, signAlg, false, ['sign']),
  )
  const flags = x509.KeyUsageFlags
  const extensions: InstanceType<X509['Extension']>[] = [
    new x509.BasicConstraintsExtension(r.ca, r.ca ? r.pathLen : undefined, true),
    new x509.KeyUsagesExtension(
      r.ca
        ? flags.keyCertSign | flags.cRLSign | flags.digitalSignature
        : isRsa(r.key.spec)
          ? flags.digitalSignature | flags.keyEncipherment
          : flags.digitalSignature,
      true,
    ),
  ]
  if (r.ski) extensions.push(new x509.SubjectKeyIdentifierExtension(await keyIdOf(r.key)))
  if (r.aki) extensions.push(new x509.AuthorityKeyIdentifierExtension(await keyIdOf(r.issuerKey)))
  if (r.sans.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(r.sans.map((v) => ({ type: 'dns' as const, value: v }))))
  if (r.serverAuth) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]))
  if (r.aiaIssuer)
    extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: new x509.GeneralName('url', r.aiaIssuer) }))
  if (!Number.isInteger(r.padBytes) || r.padBytes < 0)
    throw new AppError('USAGE', `padBytes must be a whole number ≥ 0, not ${r.padBytes}`)
  if (r.padBytes > 0)
    extensions.push(
      new x509.Extension(
        PAD_OID,
        false,
        Buffer.concat([Buffer.from([0x04]), derLength(r.padBytes), Buffer.alloc(r.padBytes, 0x50)]),
      ),
    )
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: r.serial,
    subject: r.subject,
    issuer: r.issuer,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    publicKey: await publicKeyOf(r.key),
    signingKey,
    signingAlgorithm: signAlg,
    extensions,
  })
  return Buffer.from(cert.rawData)
}

/** The subject DN of a certificate, following sameAs. */
function subjectOf(spec: LabSpec, name: string): string {
  const c = spec.certificates[name]!
  if (c.sameAs) return subjectOf(spec, c.sameAs)
  // validateLabSpec refuses a certificate with neither.
  if (c.subject === undefined) throw new AppError('LAB_SPEC_INVALID', `certificates.${name}: no subject`)
  return c.subject
}

export interface IssueContext {
  spec: LabSpec
  keys: Map<string, KeyMaterial>
  owners: Map<string, { keyName: string; keySpec: KeySpec }>
  now: Date
  aiaBase: string | null
}

/** Issues one certificate of the spec. Deterministic serial from the name. */
export async function issueCertificate(name: string, ctx: IssueContext): Promise<IssuedCert> {
  const c: CertSpec = ctx.spec.certificates[name]!
  const base = c.sameAs ? ctx.spec.certificates[c.sameAs]! : c
  const own = ctx.owners.get(name)!
  const issuerName = c.issuer === 'self' ? name : c.issuer
  const isCA = c.ca ?? base.ca ?? false
  const sans = [...(c.sans ?? [])]
  if (c.extraSans && sans[0])
    for (let i = 0; i < c.extraSans; i++) sans.push(`san-${i}.${sans[0].replace(/^\*\./, '')}`)
  const serial = createHash('sha256').update(`${ctx.spec.name}/${name}`).digest('hex').slice(0, 16)
  const der = await buildCertificate({
    serial: `01${serial}`,
    subject: subjectOf(ctx.spec, name),
    issuer: subjectOf(ctx.spec, issuerName),
    notBefore: new Date(ctx.now.getTime() + (c.notBeforeDays ?? -1) * DAY),
    notAfter: new Date(ctx.now.getTime() + (c.notAfterDays ?? (isCA ? 3650 : 365)) * DAY),
    key: ctx.keys.get(own.keyName)!,
    issuerKey: ctx.keys.get(ctx.owners.get(issuerName)!.keyName)!,
    signature: c.signature ?? 'sha256',
    ca: isCA,
    ...(isCA && (c.pathLen ?? base.pathLen) !== undefined ? { pathLen: (c.pathLen ?? base.pathLen)! } : {}),
    ski: c.ski ?? base.ski ?? true,
    aki: (c.aki ?? true) && c.issuer !== 'self',
    sans,
    // A leaf with names is a server's; a CN-only one stays without the extension, as the spec wrote it.
    serverAuth: sans.length > 0,
    aiaIssuer: c.aia && ctx.aiaBase ? `${ctx.aiaBase}/${c.issuer}.cer` : null,
    padBytes: 0,
  })
  return { name, der, keyName: own.keyName }
}
