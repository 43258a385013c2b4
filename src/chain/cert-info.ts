import { createHash, X509Certificate as NodeX509 } from 'node:crypto'
import { fastFields, type FastFields } from './cert-fields.js'
import { x509Lib } from '../core/x509.js'

export interface KeyInfo {
  type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'dsa' | 'unknown'
  bits: number | null
  /** NIST name (P-256, P-384, P-521) when known, else the OpenSSL name; null for non-EC keys. */
  curve: string | null
}

/** What the tool knows about one certificate; every string here came from an untrusted peer. */
export interface CertInfo {
  sha256: string
  subject: string
  issuer: string
  serial: string
  ski: string | null
  aki: string | null
  key: KeyInfo
  signature: string
  signatureHash: string | null
  notBefore: string
  notAfter: string
  sans: string[]
  derBytes: number
  caIssuers: string[]
  isCA: boolean
  selfSigned: boolean
}

/** A parsed certificate with the handles path building needs; `info` is what gets printed/stored. */
export interface ParsedCert {
  info: CertInfo
  der: Buffer
  node: NodeX509
  /** Lower-case subject / issuer names, used only as an index before OpenSSL's checkIssued. */
  subjectKey: string
  issuerKey: string
  /** SHA-256 of the SubjectPublicKeyInfo: a cross-signed CA keeps it, so loops can be cut. */
  spkiHash: string
}

export class MalformedCertificateError extends Error {
  override name = 'MalformedCertificateError'
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex')
}

/**
 * Parses DER: the printable fields straight from the DER for ordinary certificates, else with
 * @peculiar/x509 (the same output); node:crypto for key details and signature checks.
 */
export function parseCertificate(der: Buffer): ParsedCert {
  let f: FastFields
  let node: NodeX509
  try {
    node = new NodeX509(der)
    try {
      f = fastFields(der)
    } catch {
      f = libraryFields(der)
    }
  } catch (err) {
    throw new MalformedCertificateError(`cannot parse certificate (${der.length} bytes): ${(err as Error).message}`, {
      cause: err,
    })
  }
  const hash = hashOf(f)
  const { subject, issuer } = f
  const info: CertInfo = {
    sha256: sha256Hex(der),
    subject,
    issuer,
    serial: f.serial.toLowerCase(),
    ski: f.ski ? f.ski.toLowerCase() : null,
    aki: f.aki ? f.aki.toLowerCase() : null,
    key: keyInfo(node),
    signature: signatureName(f.signatureAlgorithm.name, hash),
    signatureHash: signatureHashOf(f.signatureAlgorithm.name, hash),
    notBefore: f.notBefore.toISOString(),
    notAfter: f.notAfter.toISOString(),
    sans: f.sans,
    derBytes: der.length,
    caIssuers: f.caIssuers,
    isCA: f.isCA,
    selfSigned: false,
  }
  info.selfSigned = subject === issuer && safeVerify(node, node)
  const spkiHash = sha256Hex(node.publicKey.export({ format: 'der', type: 'spki' }))
  return { info, der, node, subjectKey: subject.toLowerCase(), issuerKey: issuer.toLowerCase(), spkiHash }
}

/** What the database keeps of a certificate besides its DER (the `certificates` table). */
export interface StoredFields {
  sha256: string
  serial: string
  ski: string | null
  aki: string | null
  key: KeyInfo
  signature: string
  isCA: boolean
  selfSigned: boolean
}

/**
 * A certificate read back from the database: the stored fields, the rest from the DER fast path,
 * and OpenSSL's handle built only when a signature is checked (a report reads 100,000 of them
 * and verifies few: the resolver's verified paths say the rest).
 */
export function storedCertificate(der: Buffer, stored: StoredFields): ParsedCert {
  let f: FastFields
  try {
    f = fastFields(der)
  } catch {
    f = libraryFields(der)
  }
  const hash = hashOf(f)
  const info: CertInfo = {
    sha256: stored.sha256,
    subject: f.subject,
    issuer: f.issuer,
    serial: stored.serial,
    ski: stored.ski,
    aki: stored.aki,
    key: stored.key,
    signature: stored.signature,
    signatureHash: signatureHashOf(f.signatureAlgorithm.name, hash),
    notBefore: f.notBefore.toISOString(),
    notAfter: f.notAfter.toISOString(),
    sans: f.sans,
    derBytes: der.length,
    caIssuers: f.caIssuers,
    isCA: stored.isCA,
    selfSigned: stored.selfSigned,
  }
  let node: NodeX509 | null = null
  let spki: string | null = null
  return {
    info,
    der,
    subjectKey: f.subject.toLowerCase(),
    issuerKey: f.issuer.toLowerCase(),
    get node() {
      return (node ??= new NodeX509(der))
    },
    get spkiHash() {
      return (spki ??= sha256Hex(this.node.publicKey.export({ format: 'der', type: 'spki' })))
    },
  }
}

/** The same fields through @peculiar/x509, for what the DER fast path does not handle. */
export function libraryFields(der: Buffer): FastFields {
  const x509 = x509Lib()
  const cert = new x509.X509Certificate(der)
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? null
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId ?? null
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension)
  const bc = cert.getExtension(x509.BasicConstraintsExtension)
  const sig = cert.signatureAlgorithm as { name: string; hash?: { name: string } }
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    ski,
    aki,
    signatureAlgorithm: { name: sig.name, hash: sig.hash?.name ?? '' },
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sans: san ? san.names.items.map((n) => `${n.type}:${n.value}`) : [],
    caIssuers: aia ? aia.caIssuers.filter((n) => n.type === 'url').map((n) => n.value) : [],
    isCA: bc?.ca ?? false,
  }
}

/** OpenSSL's issuer check (names, AKI/SKI, key usage) followed by the signature itself. */
export function issuedBy(child: ParsedCert, issuer: ParsedCert): boolean {
  return child.node.checkIssued(issuer.node) && safeVerify(child.node, issuer.node)
}

function safeVerify(child: NodeX509, issuer: NodeX509): boolean {
  try {
    return child.verify(issuer.publicKey)
  } catch {
    return false
  }
}

function keyInfo(node: NodeX509): KeyInfo {
  try {
    const key = node.publicKey
    const type = (key.asymmetricKeyType ?? 'unknown') as KeyInfo['type']
    const details = key.asymmetricKeyDetails ?? {}
    if (type === 'ec') {
      const curve = details.namedCurve ?? null
      const bits = curve === 'prime256v1' ? 256 : curve === 'secp384r1' ? 384 : curve === 'secp521r1' ? 521 : null
      return { type, bits, curve: curve ? (CURVES[curve] ?? curve) : null }
    }
    if (type === 'ed25519') return { type, bits: 256, curve: null }
    if (type === 'ed448') return { type, bits: 456, curve: null }
    return { type, bits: details.modulusLength ?? null, curve: null }
  } catch {
    return { type: 'unknown', bits: null, curve: null }
  }
}

function hashOf(f: FastFields): string | null {
  return f.signatureAlgorithm.hash ? f.signatureAlgorithm.hash.toLowerCase().replace('-', '') : null
}

/**
 * What a verifier must support to check the signature: the hash for PKCS#1 v1.5 and ECDSA, but
 * 'rsa-pss' for RSASSA-PSS whatever its hash, since a firmware may do the hashes and not PSS.
 */
function signatureHashOf(alg: string, hash: string | null): string | null {
  return alg === 'RSA-PSS' ? 'rsa-pss' : hash
}

function signatureName(alg: string, hash: string | null): string {
  const base =
    alg === 'RSASSA-PKCS1-v1_5'
      ? 'rsa-pkcs1'
      : alg === 'RSA-PSS'
        ? 'rsa-pss'
        : alg === 'ECDSA'
          ? 'ecdsa'
          : alg.toLowerCase()
  return hash ? `${base}-${hash}` : base
}
