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
  /** 'path': a trust-store certificate that ends a verified path; 'ski-aki': its SKI equals the AKI of a served certificate (how the SPWF04SA picks its CA). */
  match: Array<'path' | 'ski-aki'>
}

/**
 * Candidates a device survey must try: the trust anchors of every path (several for cross-signed
 * roots) and every CA whose SKI equals an AKI the server sent, intermediates included, because
 * that is the key the SPWF04SA looks its uploaded CA up by (AT reference §5).
 */
export function candidateAnchors(served: readonly ParsedCert[], search: PathSearchResult, store: TrustStore): Anchor[] {
  const servedFps = new Set(served.map((c) => c.info.sha256))
  // The server's own certificate is what is being judged: uploading it would "pass" any
  // self-signed host, so it is never a candidate, even when it says CA:TRUE.
  const own = served[0]?.info.sha256
  const fetchedFps = new Set(search.fetched.map((c) => c.info.sha256))
  const sourceOf = (c: ParsedCert): AnchorSource => (servedFps.has(c.info.sha256) ? 'served' : fetchedFps.has(c.info.sha256) && !store.has(c.info.sha256) ? 'aia' : 'store')
  const byFp = new Map<string, Anchor>()
  const add = (cert: ParsedCert, match: 'path' | 'ski-aki') => {
    if (cert.info.sha256 === own) return
    let a = byFp.get(cert.info.sha256)
    if (!a) {
      a = { cert, source: sourceOf(cert), kind: cert.info.selfSigned ? 'root' : 'intermediate', paths: search.prefixes.get(cert.info.sha256) ?? [], match: [] }
      byFp.set(cert.info.sha256, a)
    }
    if (!a.match.includes(match)) a.match.push(match)
  }
  // Shortest path first: the anchor a client would most likely pick is listed first.
  for (const path of [...search.paths].sort((a, b) => a.length - b.length)) add(path[path.length - 1]!, 'path')
  const akis = new Set(served.map((c) => c.info.aki).filter((k): k is string => k !== null))
  const everyCa = [...served, ...search.fetched]
  for (const aki of akis) {
    for (const cert of [...everyCa.filter((c) => c.info.ski === aki), ...store.withSki(aki)]) {
      if (cert.info.isCA || cert.info.selfSigned) add(cert, 'ski-aki')
    }
  }
  return [...byFp.values()]
}
