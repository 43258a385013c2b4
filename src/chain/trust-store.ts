import { readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { createHash } from 'node:crypto'
import { AppError } from '../core/errors.js'
import type { CertCache } from './cert-cache.js'
import { sha256Hex, type ParsedCert } from './cert-info.js'
import { indexFields, type CertIndexFields } from './der-names.js'
import { pemBlocks } from './pem.js'

interface Entry {
  der: Buffer
  parsed: ParsedCert | null
}

/**
 * The certificates a client trusts, indexed for issuer look-ups. Entries are indexed from their
 * DER (names, SKI, fingerprint) and parsed only when a look-up returns them: start-up does not
 * pay for ~145 bundled roots a run mostly never meets.
 */
export class TrustStore {
  private readonly entries = new Map<string, Entry>()
  private readonly bySubject = new Map<string, Entry[]>()
  private readonly bySki = new Map<string, Entry[]>()
  /** Entries the DER index could not read: parsed at once, matched by their parsed names. */
  private readonly unindexed: Entry[] = []
  private readonly issuerKeys = new WeakMap<ParsedCert, string | null>()

  constructor(
    certs: Iterable<Buffer | ParsedCert>,
    private readonly cache: CertCache,
  ) {
    for (const c of certs) {
      const der = Buffer.isBuffer(c) ? c : c.der
      const fp = Buffer.isBuffer(c) ? sha256Hex(der) : c.info.sha256
      if (this.entries.has(fp)) continue
      const entry: Entry = { der, parsed: Buffer.isBuffer(c) ? null : c }
      this.entries.set(fp, entry)
      let fields: CertIndexFields
      try {
        fields = indexFields(der)
      } catch {
        entry.parsed ??= cache.parse(der)
        this.unindexed.push(entry)
        if (entry.parsed.info.ski) push(this.bySki, entry.parsed.info.ski, entry)
        continue
      }
      push(this.bySubject, fields.subjectKey, entry)
      if (fields.ski) push(this.bySki, fields.ski, entry)
    }
  }

  get size(): number {
    return this.entries.size
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256)
  }

  /** Store certificates whose subject is the child's issuer name (candidates; not yet verified). */
  issuersOf(child: ParsedCert): readonly ParsedCert[] {
    let key = this.issuerKeys.get(child)
    if (key === undefined) {
      try {
        key = indexFields(child.der).issuerKey
      } catch {
        key = null
      }
      this.issuerKeys.set(child, key)
    }
    // A child the DER index cannot read is compared by parsed names against every entry.
    const indexed = key === null ? [...this.entries.values()] : (this.bySubject.get(key) ?? [])
    const out = indexed.map((e) => this.parsed(e)).filter((c) => key !== null || c.subjectKey === child.issuerKey)
    for (const e of this.unindexed)
      if (e.parsed!.subjectKey === child.issuerKey && !out.includes(e.parsed!)) out.push(e.parsed!)
    return out
  }

  /** A store certificate by fingerprint, parsed; null when the store has none. */
  get(sha256: string): ParsedCert | null {
    const e = this.entries.get(sha256)
    return e ? this.parsed(e) : null
  }

  /** Every store certificate, parsed on the way (a plan borrows one for a must-reject target). */
  *certificates(): Generator<ParsedCert> {
    for (const e of this.entries.values()) yield this.parsed(e)
  }

  withSki(ski: string): readonly ParsedCert[] {
    return (this.bySki.get(ski) ?? []).map((e) => this.parsed(e))
  }

  /** Order-independent identity of the store, recorded with each run. */
  hash(): string {
    return createHash('sha256')
      .update([...this.entries.keys()].sort().join('\n'))
      .digest('hex')
  }

  private parsed(e: Entry): ParsedCert {
    e.parsed ??= this.cache.parse(e.der)
    return e.parsed
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

export interface TrustStoreOptions {
  /** PEM bundle files added to (or, with `only`, replacing) Node's bundled Mozilla roots. */
  files: readonly string[]
  only: boolean
}

export async function loadTrustStore(opts: TrustStoreOptions, cache: CertCache): Promise<TrustStore> {
  if (opts.only && opts.files.length === 0)
    throw new AppError('TRUST_STORE_INVALID', '--trust-store-only needs at least one --trust-store FILE')
  const certs: Array<Buffer | ParsedCert> = []
  // Bundled roots are trusted input and only indexed here; user files are parsed to be checked.
  if (!opts.only) for (const pem of rootCertificates) certs.push(...pemBlocks(pem))
  for (const file of opts.files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new AppError('TRUST_STORE_INVALID', `--trust-store ${file}: ${(err as Error).message}`, { cause: err })
    }
    const ders = pemBlocks(text)
    if (ders.length === 0)
      throw new AppError('TRUST_STORE_INVALID', `--trust-store ${file}: no PEM CERTIFICATE blocks found`)
    ders.forEach((der, i) => {
      try {
        certs.push(cache.parse(der))
      } catch (err) {
        throw new AppError(
          'TRUST_STORE_INVALID',
          `--trust-store ${file}: certificate ${i + 1}: ${(err as Error).message}`,
          { cause: err },
        )
      }
    })
  }
  return new TrustStore(certs, cache)
}
