import { readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { createHash } from 'node:crypto'
import { AppError } from '../core/errors.js'
import type { CertCache } from './cert-cache.js'
import type { ParsedCert } from './cert-info.js'
import { pemBlocks } from './pem.js'

/** The certificates a client trusts, indexed for issuer look-ups. */
export class TrustStore {
  private readonly bySubject = new Map<string, ParsedCert[]>()
  private readonly fps = new Set<string>()
  private readonly bySki = new Map<string, ParsedCert[]>()

  constructor(certs: Iterable<ParsedCert>) {
    for (const cert of certs) {
      if (this.fps.has(cert.info.sha256)) continue
      this.fps.add(cert.info.sha256)
      const list = this.bySubject.get(cert.subjectKey) ?? []
      list.push(cert)
      this.bySubject.set(cert.subjectKey, list)
      if (cert.info.ski) this.bySki.set(cert.info.ski, [...(this.bySki.get(cert.info.ski) ?? []), cert])
    }
  }

  get size(): number {
    return this.fps.size
  }

  has(sha256: string): boolean {
    return this.fps.has(sha256)
  }

  withSubject(subjectKey: string): readonly ParsedCert[] {
    return this.bySubject.get(subjectKey) ?? []
  }

  withSki(ski: string): readonly ParsedCert[] {
    return this.bySki.get(ski) ?? []
  }

  /** Order-independent identity of the store, recorded with each run. */
  hash(): string {
    return createHash('sha256').update([...this.fps].sort().join('\n')).digest('hex')
  }
}

export interface TrustStoreOptions {
  /** PEM bundle files added to (or, with `only`, replacing) Node's bundled Mozilla roots. */
  files: readonly string[]
  only: boolean
}

export async function loadTrustStore(opts: TrustStoreOptions, cache: CertCache): Promise<TrustStore> {
  if (opts.only && opts.files.length === 0) throw new AppError('TRUST_STORE_INVALID', '--trust-store-only needs at least one --trust-store FILE')
  const certs: ParsedCert[] = []
  if (!opts.only) for (const pem of rootCertificates) for (const der of pemBlocks(pem)) certs.push(cache.parse(der))
  for (const file of opts.files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new AppError('TRUST_STORE_INVALID', `--trust-store ${file}: ${(err as Error).message}`, { cause: err })
    }
    const ders = pemBlocks(text)
    if (ders.length === 0) throw new AppError('TRUST_STORE_INVALID', `--trust-store ${file}: no PEM CERTIFICATE blocks found`)
    ders.forEach((der, i) => {
      try {
        certs.push(cache.parse(der))
      } catch (err) {
        throw new AppError('TRUST_STORE_INVALID', `--trust-store ${file}: certificate ${i + 1}: ${(err as Error).message}`, { cause: err })
      }
    })
  }
  return new TrustStore(certs)
}
