import type { HelloProfile, TlsVersion } from '../../chain/index.js'

/** The fixed vocabulary of why an attempt failed (README "Failure classes"). */
export const FAILURE_CLASSES = ['dns', 'connect', 'handshake', 'untrusted', 'key-unsupported', 'expired', 'hostname', 'too-large', 'http', 'timeout', 'device'] as const
export type FailureClass = (typeof FAILURE_CLASSES)[number]

export type Dialect = 'spwf04' | 'spwf01'

/** A firmware's capabilities and error table: data under data/firmware, never code. */
export interface FirmwareProfile {
  id: string
  module: 'SPWF04SA' | 'SPWF01SA'
  firmware: string
  build: string
  dialect: Dialect
  /** Each assumption and its source; guesses say GUESS. */
  notes: string[]
  tls: {
    versions: TlsVersion[]
    cipherSuites: string[]
    groups: string[]
    signatureAlgorithms: string[]
    sni: boolean
    certificateKeys: { rsa: { minBits: number; maxBits: number }; ecdsa: string[] }
    certificateSignatureHashes: string[]
    maxCertificateBytes: number | null
    maxChainBytes: number | null
    anchorMatch: 'ski-aki' | 'path'
    checkValidity: boolean
    checkHostname: boolean
  }
  store: { caSlots: number; maxCaBytes: number }
  /**
   * The grammar of a request's response besides the error table: informational lines and final
   * lines (`{n}` a number, `{text}` printable text). A response with any other line, or no final
   * line, was damaged on the link and is never classified.
   */
  responses: { info: string[]; final: string[] }
  /**
   * Per failure class, the lines the module prints for it (before, or as, its final error line).
   * `{n}` stands for a number. The emulator prints them; drivers classify by them.
   */
  errors: Partial<Record<FailureClass, string[]>>
}

/** The ClientHello the module sends, as the resolver and the emulator's TLS client take it. */
export function helloOf(profile: FirmwareProfile): HelloProfile {
  const t = profile.tls
  return { versions: t.versions, cipherSuites: t.cipherSuites, groups: t.groups, signatureAlgorithms: t.signatureAlgorithms, sni: t.sni }
}
