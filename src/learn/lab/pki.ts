import { randomBytes } from 'node:crypto'
import { AppError } from '../../core/errors.js'
import { children, readTlv } from '../../chain/der-names.js'
import { sha256Hex } from '../../chain/cert-info.js'
import {
  buildCertificate,
  derLength,
  generateKey,
  keyIdOf,
  type CertSignature,
  type KeyMaterial,
} from '../../lab/pki.js'
import type { KeySpec } from '../../lab/spec.js'

const DAY = 86_400_000
/** What the padding extension costs besides its bytes (OID 12, three short DER headers 6). */
const PAD_OVERHEAD = 18

export interface ProbeCert {
  der: Buffer
  sha256: string
  subject: string
  key: KeyMaterial
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
  signature?: CertSignature
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

/** Bytes of r and s at their longest in an ECDSA signature's DER (a leading 0 when the top bit is set). */
const EC_INTEGER_MAX = { 'ec-p256': 33, 'ec-p384': 49, 'ec-p521': 66 } as const

function isRsa(spec: KeySpec): boolean {
  return spec.startsWith('rsa')
}

/**
 * Probe keys by type and slot, for the life of the process, shared by every ProbePki (every learn
 * run) in it. What a learn run's verdicts rest on is which of its certificates share a key (the
 * slots: a root, its intermediate and an unrelated root must not, or a chain would verify under
 * the wrong CA), never the key bytes themselves: every certificate is issued afresh for each run
 * (a random serial, the run's dates), and a run starts by emptying the module's CA store. So a
 * second run in the process (the round-trip test learns every shipped profile in one) takes the
 * keys the first one generated instead of paying again for them: RSA-4096 and RSA-3072 keys cost
 * a second or more of CPU each, and a run needs a dozen RSA keys. The CLI runs one learn a process.
 */
const PROCESS_KEYS = new Map<string, Promise<KeyMaterial>>()

/**
 * Keys are generated one at a time in the process. Generation runs on libuv's thread pool (4
 * threads), which the serial port's reads and writes use too: learns side by side (the round-trip
 * test) each generating RSA-4096 keys would hold every thread for seconds, and a module's answer
 * would go unread past its time-out (seen with a dozen keys made at once: DEVICE_UNKNOWN, no
 * answer to AT).
 */
let generating: Promise<unknown> = Promise.resolve()
function generateInTurn(spec: KeySpec): Promise<KeyMaterial> {
  const next = generating.then(() => generateKey(spec))
  generating = next.catch(() => {})
  return next
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
 * (key, signature, size, extensions). Keys are generated on first use and kept in memory only
 * (in `keys`: the process's, see PROCESS_KEYS, unless a caller gives its own).
 */
export class ProbePki {
  /** Sizes already measured, by options then padding: a size probe sweeps one certificate's sizes. */
  private readonly sizes = new Map<string, Map<number, number>>()

  constructor(
    private readonly now: Date,
    private readonly keys: Map<string, Promise<KeyMaterial>> = PROCESS_KEYS,
  ) {}

  key(spec: KeySpec, slot = 'default'): Promise<KeyMaterial> {
    const id = `${spec}/${slot}`
    let v = this.keys.get(id)
    if (!v) {
      v = generateInTurn(spec)
      this.keys.set(id, v)
      v.catch(() => this.keys.delete(id))
    }
    return v
  }

  async issue(opts: ProbeCertOptions): Promise<ProbeCert> {
    const key = await this.key(opts.key, opts.keySlot)
    const ca = opts.ca ?? false
    const keyIds = opts.keyIds ?? true
    const issuerSubject = opts.issuer === 'self' ? opts.subject : opts.issuer.subject
    const now = this.now.getTime()
    const der = await buildCertificate({
      // A fixed-length random serial: sizes must not depend on it.
      serial: `01${randomBytes(8).toString('hex')}`,
      subject: opts.subject,
      issuer: issuerSubject,
      notBefore: opts.notBefore ?? new Date(now - DAY),
      notAfter: opts.notAfter ?? new Date(now + (ca ? 3650 : 365) * DAY),
      key,
      issuerKey: opts.issuer === 'self' ? key : opts.issuer.key,
      signature: opts.signature ?? 'sha256',
      ca,
      ski: keyIds,
      // The AKI names the issuer key's id, which is its SKI when it has one, as a CA's software does.
      aki: keyIds && opts.issuer !== 'self',
      sans: opts.sans ?? [],
      serverAuth: !ca,
      aiaIssuer: null,
      padBytes: opts.padBytes ?? 0,
    })
    const ski = keyIds ? await keyIdOf(key) : null
    return { der, sha256: sha256Hex(der), subject: opts.subject, key, ski }
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
