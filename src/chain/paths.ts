import { issuedBy, type ParsedCert } from './cert-info.js'
import type { TrustStore } from './trust-store.js'

export interface PathSearchInput {
  leaf: ParsedCert
  served: readonly ParsedCert[]
  store: TrustStore
  /** Fetches the issuers a certificate points at (AIA); only called when no issuer is at hand. */
  fetchIssuers?: (cert: ParsedCert) => Promise<ParsedCert[]>
  maxDepth: number
  maxPaths: number
}

export interface PathSearchResult {
  /** Every signature-verified path from the leaf to a certificate of the trust store. */
  paths: ParsedCert[][]
  /** Every verified partial path leaf → X, by X's fingerprint (X = leaf included). */
  prefixes: Map<string, string[][]>
  /** Certificates obtained through AIA while searching. */
  fetched: ParsedCert[]
}

/**
 * Depth-first search over the served certificates, the store and AIA downloads. Every edge is
 * checked with OpenSSL's issuer check and the signature, so a path here is one a client could
 * build. Validity dates are not judged here: an expired path is still a path a device may try.
 */
export async function findPaths(input: PathSearchInput): Promise<PathSearchResult> {
  const pool = new Map<string, ParsedCert[]>()
  const poolFps = new Set<string>()
  const addToPool = (c: ParsedCert) => {
    if (poolFps.has(c.info.sha256)) return
    poolFps.add(c.info.sha256)
    pool.set(c.subjectKey, [...(pool.get(c.subjectKey) ?? []), c])
  }
  input.served.forEach(addToPool)
  const result: PathSearchResult = { paths: [], prefixes: new Map(), fetched: [] }
  const verified = new Map<string, boolean>()
  const issuersOf = (cert: ParsedCert): ParsedCert[] => {
    const seen = new Set<string>()
    const out: ParsedCert[] = []
    for (const cand of [...(pool.get(cert.issuerKey) ?? []), ...input.store.issuersOf(cert)]) {
      const fp = cand.info.sha256
      if (seen.has(fp) || fp === cert.info.sha256) continue
      seen.add(fp)
      const key = `${cert.info.sha256}>${fp}`
      let ok = verified.get(key)
      if (ok === undefined) verified.set(key, (ok = issuedBy(cert, cand)))
      if (ok) out.push(cand)
    }
    return out
  }
  const fetchedFor = new Set<string>()

  const visit = async (cert: ParsedCert, path: ParsedCert[]): Promise<void> => {
    if (result.paths.length >= input.maxPaths) return
    const fps = path.map((c) => c.info.sha256)
    const list = result.prefixes.get(cert.info.sha256) ?? []
    list.push(fps)
    result.prefixes.set(cert.info.sha256, list)
    if (input.store.has(cert.info.sha256)) result.paths.push(path)
    if (cert.info.selfSigned || path.length >= input.maxDepth) return
    let issuers = issuersOf(cert)
    if (issuers.length === 0 && input.fetchIssuers && !fetchedFor.has(cert.info.sha256)) {
      fetchedFor.add(cert.info.sha256)
      for (const c of await input.fetchIssuers(cert)) {
        if (!poolFps.has(c.info.sha256)) result.fetched.push(c)
        addToPool(c)
      }
      issuers = issuersOf(cert)
    }
    for (const issuer of issuers) {
      // A cross-signed CA appears as several certificates with one key: never revisit a key.
      if (path.some((c) => c.spkiHash === issuer.spkiHash)) continue
      await visit(issuer, [...path, issuer])
    }
  }
  await visit(input.leaf, [input.leaf])
  return result
}
