import type { CaptureErrorCode } from '../chain/index.js'
import type { FailureClass, FirmwareProfile } from '../profile/profile.js'
import type { HandshakeFact, Reason, ServerFacts } from './types.js'
import { keyExchangeOf, moduleName, suitesText, versionsText } from './wording.js'

/**
 * The class a module's connection failure gets from the resolver's error code (README "Error
 * codes"): the one mapping the emulator and the predictor share. Null when the code says nothing
 * about the server (the resolution was stopped, or tlsmatrix failed).
 */
export function connectFailureClass(code: CaptureErrorCode): FailureClass | null {
  switch (code) {
    case 'dns':
      return 'dns'
    case 'refused':
    case 'unreachable':
      return 'connect'
    case 'timeout':
      return 'timeout'
    case 'chain-too-large':
    case 'chain-over-node-limit':
      return 'too-large'
    case 'aborted':
    case 'internal':
      return null
    default:
      return 'handshake'
  }
}

export type HandshakeJudgement =
  | { state: 'ok'; reasons: Reason[] }
  | { state: 'fail'; class: FailureClass; reasons: Reason[] }
  | { state: 'unknown'; reasons: Reason[] }

const reason = (code: string, text: string): Reason => ({ code, text, cert: null })
const codeOf = (f: HandshakeFact) => f.errorCode ?? 'tls-error'
const detail = (f: HandshakeFact) => `${codeOf(f)}${f.errorMessage ? `: ${f.errorMessage}` : ''}`

/**
 * Whether the module gets through the handshake, from what the resolver saw: with the module's
 * own ClientHello (a fact), else with the broad one (only what holds whatever the hello: the name
 * and the TCP connection, or a choice the module offers too).
 */
export function judgeHandshake(profile: FirmwareProfile, server: ServerFacts, host: string): HandshakeJudgement {
  const m = moduleName(profile)
  const { own, broad } = server
  if (own) {
    // The resolver retries a server that speaks only TLS 1.3 with TLS 1.3 to capture its chain: a
    // handshake the module could not have made.
    const t = profile.tls
    if (own.ok && own.protocol && !(t.versions as string[]).includes(own.protocol)) {
      return {
        state: 'fail',
        class: 'handshake',
        reasons: [
          reason(
            'no-common-version',
            `the server speaks ${own.protocol} only; ${m} offers ${versionsText(t.versions)}`,
          ),
        ],
      }
    }
    if (own.ok) return { state: 'ok', reasons: [] }
    const cls = connectFailureClass(codeOf(own))
    if (cls === null)
      return {
        state: 'unknown',
        reasons: [reason('not-observed', `the handshake with ${m}'s ClientHello was not completed (${detail(own)})`)],
      }
    if (cls !== 'handshake') return { state: 'fail', class: cls, reasons: [beforeTls(cls, own, host)] }
    return { state: 'fail', class: 'handshake', reasons: [refused(profile, own, broad)] }
  }
  if (!broad) return { state: 'unknown', reasons: [reason('no-handshake', `no handshake with ${host} was observed`)] }
  if (!broad.ok) {
    const cls = connectFailureClass(codeOf(broad))
    // DNS and TCP come before any ClientHello: what failed for a broad client fails for the module.
    if (cls === 'dns' || cls === 'connect') {
      const r = beforeTls(cls, broad, host)
      return { state: 'fail', class: cls, reasons: [{ ...r, text: `${r.text} (seen with a broad ClientHello)` }] }
    }
    return {
      state: 'unknown',
      reasons: [
        reason(
          'broad-refused',
          `a broad client was refused too (${detail(broad)}); ${m}'s own ClientHello was not tried`,
        ),
      ],
    }
  }
  const t = profile.tls
  if (broad.protocol && !(t.versions as string[]).includes(broad.protocol)) {
    return {
      state: 'unknown',
      reasons: [
        reason(
          'version-unverified',
          `the server chose ${broad.protocol} for a broad client; whether it speaks ${versionsText(t.versions)}, which ${m} offers, was not observed`,
        ),
      ],
    }
  }
  if (broad.cipher && !t.cipherSuites.includes(broad.cipher)) {
    return {
      state: 'unknown',
      reasons: [
        reason(
          'suite-unverified',
          `the server chose ${broad.cipher} for a broad client; whether it accepts any of ${m}'s suites (${suitesText(t.cipherSuites, sameKeyExchange(t.cipherSuites, broad.cipher))}) was not observed`,
        ),
      ],
    }
  }
  if (!broad.protocol || !broad.cipher)
    return {
      state: 'unknown',
      reasons: [reason('no-handshake', `the broad handshake with ${host} recorded no version or suite`)],
    }
  // The server took a version and a suite the module offers too.
  return { state: 'ok', reasons: [] }
}

function sameKeyExchange(suites: readonly string[], suite: string): boolean {
  const kx = keyExchangeOf(suite)
  return kx !== null && suites.some((s) => keyExchangeOf(s) === kx)
}

/** DNS, TCP, time-outs and oversized chains: failures that do not depend on the suites. */
function beforeTls(cls: FailureClass, f: HandshakeFact, host: string): Reason {
  const code = codeOf(f)
  switch (cls) {
    case 'dns':
      return reason('dns', `${host} does not resolve (${detail(f)})`)
    case 'connect':
      return code === 'refused'
        ? reason('connect-refused', `the server refused the TCP connection (${detail(f)})`)
        : reason('connect-unreachable', `the server's address is unreachable (${detail(f)})`)
    case 'timeout':
      return reason('timeout', `the server did not answer in time (${detail(f)})`)
    default:
      return reason('chain-too-large', `the server's certificate chain is too large to receive (${detail(f)})`)
  }
}

/** The module's hello was refused: say why from what a broad client got. */
function refused(profile: FirmwareProfile, own: HandshakeFact, broad: HandshakeFact | null): Reason {
  const m = moduleName(profile)
  const t = profile.tls
  if (codeOf(own) === 'not-tls')
    return reason('not-tls', `the server does not answer TLS on this port (${detail(own)})`)
  if (broad?.ok && broad.protocol && !(t.versions as string[]).includes(broad.protocol)) {
    return reason(
      'no-common-version',
      `the server speaks ${broad.protocol} only; ${m} offers ${versionsText(t.versions)}`,
    )
  }
  if (broad?.ok && broad.cipher && !t.cipherSuites.includes(broad.cipher)) {
    return reason(
      'no-common-suite',
      `the server accepts none of the module's cipher suites: ${m} offers ${suitesText(t.cipherSuites, sameKeyExchange(t.cipherSuites, broad.cipher))} (it chose ${broad.cipher} for a broad client)`,
    )
  }
  if (broad?.ok) {
    const groups = t.groups.length ? t.groups.join(', ') : 'none'
    return reason(
      'handshake-refused',
      `the server refused ${m}'s ClientHello (${detail(own)}), though it chose ${broad.cipher ?? 'a suite'} over ${broad.protocol ?? 'TLS'} for a broad client, which ${m} offers too: its groups (${groups}) or signature algorithms may not suit the server`,
    )
  }
  return reason(
    'handshake-refused',
    `the server refused ${m}'s ClientHello (${detail(own)})${broad ? `; a broad client was refused too (${detail(broad)})` : ''}`,
  )
}
