import type { HelloProfile, TlsVersion } from '../chain/index.js'

/** The fixed vocabulary of why an attempt failed (README "Failure classes"). */
/**
 * `clock`: every certificate is valid only from later than the module's clock (a clock never set);
 * `unspecified`: the module said it failed and not why (ESP-AT before v5.0 prints a bare ERROR for
 * every failure): the report's why then comes from the prediction alone. Classification tries the
 * classes in this order, so `unspecified` comes after every class with its own lines.
 */
export const FAILURE_CLASSES = [
  'dns',
  'connect',
  'handshake',
  'untrusted',
  'key-unsupported',
  'expired',
  'clock',
  'hostname',
  'too-large',
  'http',
  'timeout',
  'unspecified',
  'device',
] as const
export type FailureClass = (typeof FAILURE_CLASSES)[number]

/** A registered module family's id (src/families), e.g. `spwf04`. */
export type Dialect = string

/** A firmware's capabilities and error table: data under data/firmware, never code. */
export interface FirmwareProfile {
  id: string
  /** One of the modules its family lists. */
  module: string
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
  /**
   * The CA store: `caSlots` CAs at once, each up to `maxCaBytes` (as uploaded). `caBundle`: one slot
   * takes a PEM bundle of several CAs, `maxCaBytes` in all (absent: one CA per slot). tlsmatrix
   * uploads one CA at a time either way; this says what a product can be provisioned with.
   */
  store: { caSlots: number; maxCaBytes: number; caBundle?: boolean }
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
  /** Set on a profile `tlsmatrix learn` wrote: how each field was obtained, and its evidence. */
  learned?: LearnedInfo
}

/** How a learned field was obtained: read from the ClientHello, measured by probes, or assumed. */
export type LearnMethod = 'hello' | 'probe' | 'assumed'

export interface LearnedField {
  method: LearnMethod
  /** The attempts (ids in the learn run) that show it. */
  attempts: number[]
  /** What else the probes showed about it (e.g. offered but never completed). */
  note?: string
}

export interface LearnedInfo {
  /** tlsmatrix version, learn run id, device URL, when. */
  tool: string
  runId: string
  device: string
  at: string
  /** The shipped profile compared with, whose grammar (`responses`) and unmeasured values were taken. */
  base: string
  cost: { uploads: number; requests: number; deviceMs: number }
  /** Per field path (`tls.cipherSuites`, `errors.expired`…). */
  fields: Record<string, LearnedField>
  /** Field paths not measured (budget, a probe without a verdict): their values are the base's. */
  unknown: Array<{ field: string; why: string }>
  /** What the probes showed that no profile field holds (CN-only leaves, an extra certificate…). */
  facts: Record<string, unknown>
}

/** The ClientHello the module sends, as the resolver and the emulator's TLS client take it. */
export function helloOf(profile: FirmwareProfile): HelloProfile {
  const t = profile.tls
  return {
    versions: t.versions,
    cipherSuites: t.cipherSuites,
    groups: t.groups,
    signatureAlgorithms: t.signatureAlgorithms,
    sni: t.sni,
  }
}
