import type { ParsedCert } from './cert-info.js'
import type { PathSearchResult } from './paths.js'
import type { TrustStore } from './trust-store.js'

export type AnchorSource = 'served' | 'store' | 'aia'

/** A certificate a device could be given as its CA for this target, and why. */
export interface Anchor {
  cert: ParsedCert
  source: AnchorSource
  kind: 'root' | 'intermediate'
  /** Verified paths leaf → this certificate, as fingerprints. */
  paths: string[][]
  /**
   * 'path': it ends a verified path (a trust-store certificate; for an untrusted anchor, a
   * self-signed root in no store); 'ski-aki': its SKI equals the AKI of a served certificate
   * (how the SPWF04SA picks its CA).
   */
  match: Array<'path' | 'ski-aki'>
}

export interface CandidateAnchors {
  /** Certificates a user could trust: in a trust store, or chaining to one by verified signatures. */
  trusted: Anchor[]
  /**
   * CAs that would satisfy the module but that no trust store vouches for (a served root in no
   * store, an intermediate chaining only to one): uploading them would make the module accept
   * what the user's trust does not, so they are findings, never candidates unless asked for.
   */
  untrusted: Anchor[]
}

/**
 * Candidates a device survey must try: the trust anchors of every path (several for cross-signed
 * roots) and every CA whose SKI equals an AKI the server sent, intermediates included, because
 * that is the key the SPWF04SA looks its uploaded CA up by (AT reference §5) — but only those a
 * user could trust. The rest (the server's own root, in no store) are listed apart.
 */
export function candidateAnchors(
  served: readonly ParsedCert[],
  search: PathSearchResult,
  store: TrustStore,
): CandidateAnchors {
  const servedFps = new Set(served.map((c) => c.info.sha256))
  // The server's own certificate is what is being judged: uploading it would "pass" any
  // self-signed host, so it is never a candidate, even when it says CA:TRUE.
  const own = served[0]?.info.sha256
  const fetchedFps = new Set(search.fetched.map((c) => c.info.sha256))
  const sourceOf = (c: ParsedCert): AnchorSource =>
    servedFps.has(c.info.sha256)
      ? 'served'
      : fetchedFps.has(c.info.sha256) && !store.has(c.info.sha256)
        ? 'aia'
        : 'store'
  const everyCa = [...served, ...search.fetched]
  const trusts = (cert: ParsedCert): boolean | null => {
    const fp = cert.info.sha256
    if (store.has(fp) || search.chainsToStore.has(fp)) return true
    // After a cut search, a CA not shown to chain to the store may still do so: it is neither a
    // candidate nor an "untrusted" finding. A self-signed CA in no store chains to nothing.
    return search.cut !== null && !cert.info.selfSigned ? null : false
  }
  const trusted = new Map<string, Anchor>()
  const untrusted = new Map<string, Anchor>()
  const add = (cert: ParsedCert, match: 'path' | 'ski-aki') => {
    if (cert.info.sha256 === own) return
    const verdict = trusts(cert)
    if (verdict === null) return
    const into = verdict ? trusted : untrusted
    let a = into.get(cert.info.sha256)
    if (!a) {
      a = {
        cert,
        source: sourceOf(cert),
        kind: cert.info.selfSigned ? 'root' : 'intermediate',
        paths: search.prefixes.get(cert.info.sha256) ?? [],
        match: [],
      }
      into.set(cert.info.sha256, a)
    }
    if (!a.match.includes(match)) a.match.push(match)
  }
  // Shortest path first: the anchor a client would most likely pick is listed first.
  for (const path of [...search.paths].sort((a, b) => a.length - b.length)) add(path[path.length - 1]!, 'path')
  // A self-signed CA the leaf verifiably chains to but no store holds: what a path-building
  // module would need, and exactly what must not be given without the user's say.
  for (const cert of everyCa) {
    if (cert.info.selfSigned && !store.has(cert.info.sha256) && search.prefixes.has(cert.info.sha256)) add(cert, 'path')
  }
  const akis = new Set(served.map((c) => c.info.aki).filter((k): k is string => k !== null))
  for (const aki of akis) {
    for (const cert of [...everyCa.filter((c) => c.info.ski === aki), ...store.withSki(aki)]) {
      if (cert.info.isCA || cert.info.selfSigned) add(cert, 'ski-aki')
    }
  }
  return { trusted: [...trusted.values()], untrusted: [...untrusted.values()] }
}
