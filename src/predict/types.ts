import type { CaptureErrorCode, ParsedCert } from '../chain/index.js'
import type { FailureClass, FirmwareProfile } from '../profile/profile.js'

/** What the resolver saw of the server: the facts a prediction rests on besides the chain. */
export interface HandshakeFact {
  /** The handshake completed. */
  ok: boolean
  protocol: string | null
  cipher: string | null
  /** The resolver's error code when it did not (handshake, alert, timeout, refused, dns…). */
  errorCode: CaptureErrorCode | null
  errorMessage: string | null
}

export interface ServerFacts {
  /** Resolution with the module's own ClientHello (its versions, suites, groups): null when not made. */
  own: HandshakeFact | null
  /** Resolution with the broad ClientHello: what the server picks for a modern client. */
  broad: HandshakeFact | null
}

export interface PredictInput {
  profile: FirmwareProfile
  /** The chain as the module is served it (in the order sent). */
  served: readonly ParsedCert[]
  /** The CA uploaded to the module, null when none. */
  ca: ParsedCert | null
  /** The name the module checks (the target's host). */
  host: string
  /** The module's clock when it judges. */
  now: Date
  server: ServerFacts
  /**
   * Whether `child` is signed by `issuer` (default: the signature check). Signature checks are
   * the cost of a prediction: a caller predicting many cells passes one cached by sha256 pair.
   */
  issued?: (child: ParsedCert, issuer: ParsedCert) => boolean
}

/** One reason, in words that name the certificate and the limit. */
export interface Reason {
  /** Stable code (e.g. `key-too-large`, `no-common-suite`, `ca-not-issuer`). */
  code: string
  text: string
  /** The certificate the reason is about (sha256), when it is about one. */
  cert: string | null
}

export interface Prediction {
  verdict: 'pass' | 'fail' | 'unknown'
  class: FailureClass | null
  reasons: Reason[]
}
