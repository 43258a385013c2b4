import type { Anchor } from './anchors.js'
import type { CaptureError, CaptureTimings } from './capture.js'
import type { ParsedCert } from './cert-info.js'
import type { SearchCutReason, SearchLimits, SearchWork } from './paths.js'

/** What one resolution of one target saw. Failures are data here, never exceptions. */
export interface Observation {
  target: string
  host: string
  port: number
  sni: string | null
  observedAt: string
  /** The address connected to, and its port when --connect-to moved it (else the target's port). */
  ip: string | null
  connectPort?: number | null
  protocol: string | null
  cipher: string | null
  capture: 'wire' | 'reconstructed' | null
  error: CaptureError | null
  timings: CaptureTimings
  /** In the order the server sent them (or rebuilt, when capture is 'reconstructed'). */
  served: ParsedCert[]
  /** SHA-256 over the served fingerprints in order: a change of chain changes it. */
  chainHash: string | null
  /** Candidates: CAs a user could trust (in a trust store, or chaining to one). */
  anchors: Anchor[]
  /** CAs that would satisfy a module but no trust store vouches for: findings, uploaded only on request. */
  untrustedAnchors: Anchor[]
  aia: { fetched: ParsedCert[]; errors: CaptureError[] }
  /** The path search's work and where it stopped (absent when no chain was analysed). */
  search?: PathSearchSummary
}

/**
 * What the path search did for this chain. `cut` is null when every path was followed; else the
 * observation's error is `path-search-limit` (or `aborted`) and its anchors are what was found.
 */
export interface PathSearchSummary extends SearchWork {
  /** Complete paths kept. */
  paths: number
  cut: SearchCutReason | null
  limits: SearchLimits
}
