import { randomBytes, webcrypto } from 'node:crypto'
import { AppError } from '../../core/errors.js'
import { x509 } from '../../core/x509.js'
import { children, readTlv } from '../../chain/der-names.js'
import { sha256Hex } from '../../chain/cert-info.js'
import { generateKey } from '../../lab/pki.js'
import type { KeySpec } from '../../lab/spec.js'

const subtle = webcrypto.subtle
const DAY = 86_400_000
/** A private arc of ours: an extension no verifier knows, non-critical, so it only adds bytes. */
export const PAD_OID = '1.3.6.1.4.1.55555.1.1'
/** What the padding extension costs besides its bytes (OID 12, three short DER headers 6). */
const PAD_OVERHEAD = 18

export type ProbeSignature = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'rsa-pss'

export interface ProbeKey {
  spec: KeySpec
  pkcs8: Buffer
  spki: Buffer
}

export interface ProbeCert {
  der: Buffer
  sha256: string
  subject: string
  key: ProbeKey
  /** SubjectKeyIdentifier hex lower-case, null when omitted */
  ski: string | null
}

export interface ProbeCertOptions {
  /** a DN such as 'CN=tlsmatrix probe leaf, O=tlsmatrix learn' */
  subject: string
  key: KeySpec
  /** which generated key of that type: certificates with the same (key, keySlot) share a key */
  keySlot?: string
  issuer: ProbeCert | 'self'
  /** the signature the ISSUER makes; 'rsa-pss' = RSASSA-PSS SHA-256 salt 32 (RSA issuer only) */
  signature?: ProbeSignature
  ca?: boolean
  /** DNS SANs; omitted/empty → no SAN extension (CN-only certificate) */
  sans?: string[]
  notBefore?: Date
  notAfter?: Date
  /** default true: SubjectKeyIdentifier, and AuthorityKeyIdentifier when not self-signed */
  keyIds?: boolean
  /** bytes carried in a private, non-critical extension (PAD_OID) to grow the certificate */
  padBytes?: number
}

type SignAlgorithm =
  webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | { name: 'RSA-PSS'; hash: string; saltLength: number }

const HASHES = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const
const CURVES = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' } as const
/** Bytes of r and s at their longest in an ECDSA signature's DER (a leading 0 when the top bit is set). */
const EC_INTEGER_MAX = { 'ec-p256': 33, 'ec-p384': 49, 'ec-p521': 66 } as const

function isRsa(spec: KeySpec): boolean {
  return spec.startsWith('rsa')
}

function keyAlgorithm(spec: KeySpec): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  if (isRsa(spec)) return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  return { name: 'ECDSA', namedCurve: CURVES[spec as keyof typeof CURVES] } as webcrypto.EcKeyImportParams
}

function signAlgorithm(issuer: KeySpec, signature: ProbeSignature): SignAlgorithm {
  if (signature === 'rsa-pss') {
    if (!isRsa(issuer)) throw new AppError('USAGE', `an RSA-PSS signature needs an RSA issuer key, not ${issuer}`)
    return { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 }
  }
  const hash = HASHES[signature]
  if (!hash) throw new AppError('USAGE', `unknown signature "${String(signature)}"`)
  if (isRsa(issuer)) return { name: 'RSASSA-PKCS1-v1_5', hash }
  return { name: 'ECDSA', namedCurve: CURVES[issuer as keyof typeof CURVES], hash } as webcrypto.EcKeyImportParams
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** Bytes of a DER TLV with `n` bytes of content. */
function tlvSize(n: number): number {
  return 1 + derLength(n).length + n
}

/**
 * The certificate's size were its signature at its longest: the same as its size for RSA (fixed
 * length); for ECDSA, r and s each with their leading zero byte. A function of the options alone.
 */
export function longestSize(der: Buffer, issuer: KeySpec): number {
  if (isRsa(issuer)) return der.length
  const cert = readTlv(der, 0, der.length)
  const [, alg] = children(der, cert)
  const integer = tlvSize(EC_INTEGER_MAX[issuer as keyof typeof EC_INTEGER_MAX])
  // BIT STRING: one unused-bits byte, then SEQUENCE { INTEGER r, INTEGER s }.
  const bits = tlvSize(1 + tlvSize(2 * integer))
  return tlvSize(alg!.end - cert.start + bits)
}

/**
 * Certificates for the probes of `tlsmatrix learn`, made on the fly: one feature varied at a time
 * (key, signature, size, extensions). Keys are generated on first use and kept in memory only.
 */
export class ProbePki {
  private readonly keys = new Map<string, Promise<ProbeKey>>()
  /** Imported WebCrypto keys and key ids, by key and use: sizing issues hundreds of certificates. */
  private readonly imported = new Map<string, Promise<webcrypto.CryptoKey>>()
  private readonly keyIds = new Map<string, Promise<string>>()
  /** Sizes already measured, by options then padding: a size probe sweeps one certificate's sizes. */
  private readonly sizes = new Map<string, Map<number, number>>()

  constructor(private readonly now: Date) {}

  key(spec: KeySpec, slot = 'default'): Promise<ProbeKey> {
    return this.cached(this.keys, `${spec}/${slot}`, () => generateKey(spec))
  }

  private cached<T>(map: Map<string, Promise<T>>, id: string, make: () => Promise<T>): Promise<T> {
    let v = map.get(id)
    if (!v) {
      v = make()
      map.set(id, v)
      v.catch(() => map.delete(id))
    }
    return v
  }

  private publicKey(key: ProbeKey): Promise<webcrypto.CryptoKey> {
    return this.cached(this.imported, `verify/${key.spki.toString('base64')}`, () =>
      subtle.importKey('spki', key.spki, keyAlgorithm(key.spec), true, ['verify']),
    )
  }

  /** The key id @peculiar/x509 computes (SHA-1 of the public key bits, RFC 5280 §4.2.1.2 (1)). */
  private keyId(key: ProbeKey): Promise<string> {
    return this.cached(this.keyIds, key.spki.toString('base64'), async () =>
      (await x509.SubjectKeyIdentifierExtension.create(await this.publicKey(key))).keyId.toLowerCase(),
    )
  }

  async issue(opts: ProbeCertOptions): Promise<ProbeCert> {
    const key = await this.key(opts.key, opts.keySlot)
    const issuerKey = opts.issuer === 'self' ? key : opts.issuer.key
    const signAlg = signAlgorithm(issuerKey.spec, opts.signature ?? 'sha256')
    const publicKey = await this.publicKey(key)
    const signingKey = await this.cached(
      this.imported,
      `sign/${JSON.stringify(signAlg)}/${issuerKey.spki.toString('base64')}`,
      () => subtle.importKey('pkcs8', issuerKey.pkcs8, signAlg, false, ['sign']),
    )
    const ca = opts.ca ?? false
    const extensions: InstanceType<typeof x509.Extension>[] = [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      new x509.KeyUsagesExtension(
        ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
          : // RSA key exchange encrypts to the leaf's key; an ECDSA key only signs.
            isRsa(key.spec)
            ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
            : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    ]
    let ski: string | null = null
    if (opts.keyIds ?? true) {
      ski = await this.keyId(key)
      extensions.push(new x509.SubjectKeyIdentifierExtension(ski))
      // The AKI names the issuer's SKI when it has one, as a CA's software does.
      if (opts.issuer !== 'self')
        extensions.push(new x509.AuthorityKeyIdentifierExtension(opts.issuer.ski ?? (await this.keyId(issuerKey))))
    }
    if (!ca) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]))
    if (opts.sans && opts.sans.length > 0)
      extensions.push(
        new x509.SubjectAlternativeNameExtension(opts.sans.map((v) => ({ type: 'dns' as const, value: v }))),
      )
    const pad = opts.padBytes ?? 0
    if (!Number.isInteger(pad) || pad < 0)
      throw new AppError('USAGE', `padBytes must be a whole number ≥ 0, not ${pad}`)
    if (pad > 0)
      extensions.push(
        new x509.Extension(
          PAD_OID,
          false,
          Buffer.concat([Buffer.from([0x04]), derLength(pad), Buffer.alloc(pad, 0x50)]),
        ),
      )
    const now = this.now.getTime()
    // A fixed-length random serial: sizes must not depend on it.
    const serial = `01${randomBytes(8).toString('hex')}`
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: opts.subject,
      issuer: opts.issuer === 'self' ? opts.subject : opts.issuer.subject,
      notBefore: opts.notBefore ?? new Date(now - DAY),
      notAfter: opts.notAfter ?? new Date(now + (ca ? 3650 : 365) * DAY),
      publicKey,
      signingKey,
      signingAlgorithm: signAlg,
      extensions,
    })
    const der = Buffer.from(cert.rawData)
    return { der, sha256: sha256Hex(der), subject: cert.subject, key, ski }
  }

  /**
   * The certificate grown by padding to exactly `bytes` DER bytes when possible, else the largest
   * size below (DER length encodings jump, and the padding extension itself costs 18 bytes or more).
   */
  async issueSized(opts: ProbeCertOptions, bytes: number): Promise<ProbeCert> {
    const issuerSpec = opts.issuer === 'self' ? opts.key : opts.issuer.key.spec
    // Sizes are judged with the signature at its longest (see longestSize), one certificate per
    // step; only the chosen padding is re-signed until its signature is that long.
    const id = JSON.stringify({ ...opts, padBytes: 0, issuer: opts.issuer === 'self' ? 'self' : opts.issuer.sha256 })
    const known = this.sizes.get(id) ?? new Map<number, number>()
    this.sizes.set(id, known)
    const attempt = async (pad: number): Promise<{ pad: number; cert: ProbeCert | null; size: number }> => {
      const size = known.get(pad)
      if (size !== undefined) return { pad, cert: null, size }
      const cert = await this.issue({ ...opts, padBytes: pad })
      known.set(pad, longestSize(cert.der, issuerSpec))
      return { pad, cert, size: known.get(pad)! }
    }
    let best = await attempt(0)
    if (best.size > bytes)
      throw new AppError(
        'USAGE',
        `a certificate of ${bytes} bytes cannot be made: without padding it is already ${best.size}`,
      )
    // Size grows strictly with padding (by more than one byte where a DER length grows): step by
    // the difference still missing, within the bounds already learnt, to the largest that fits.
    let lo = 1
    let hi = bytes - best.size
    let pad = Math.max(lo, Math.min(hi, bytes - best.size - PAD_OVERHEAD))
    while (best.size !== bytes && lo <= hi) {
      const got = await attempt(pad)
      if (got.size <= bytes) {
        if (got.size > best.size) best = got
        lo = pad + 1
      } else {
        hi = pad - 1
      }
      pad = Math.max(lo, Math.min(hi, pad + bytes - got.size))
    }
    return best.cert && best.cert.der.length === best.size
      ? best.cert
      : await this.issueLongest({ ...opts, padBytes: best.pad })
  }

  /**
   * An ECDSA signature's length varies with its random r and s; re-signing until both are at
   * their longest makes the size a function of the options alone, which sizing needs.
   */
  private async issueLongest(opts: ProbeCertOptions): Promise<ProbeCert> {
    const issuerSpec = opts.issuer === 'self' ? opts.key : opts.issuer.key.spec
    for (let i = 0; ; i++) {
      const c = await this.issue(opts)
      if (c.der.length === longestSize(c.der, issuerSpec)) return c
      // Each try succeeds with probability ~1/4: 200 failures in a row do not happen.
      if (i >= 200) throw new AppError('INTERNAL', 'could not make an ECDSA signature of the longest length')
    }
  }
}
