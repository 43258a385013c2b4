import { alertFromNodeCode } from './tls-alerts.js'

/**
 * Stable failure codes of a capture, one per thing a user would do differently (README "Error
 * codes"): besides these, `tls-alert:<name>` for an alert the server sent. `chain-too-large` is our
 * cap, `chain-over-node-limit` OpenSSL's; `path-search-limit`, `aborted` (the user stopped it),
 * `aia-failed` / `aia-refused` (an AIA download failed, or was refused: a private address) and `internal` (a bug of ours) come from the resolution around it.
 */
export const CAPTURE_ERROR_CODES = [
  'dns',
  'refused',
  'unreachable',
  'timeout',
  'reset',
  'closed',
  'not-tls',
  'malformed-handshake',
  'chain-too-large',
  'chain-over-node-limit',
  'malformed-certificate',
  'no-certificate',
  'tls-error',
  'path-search-limit',
  'aborted',
  'aia-failed',
  'aia-refused',
  'internal',
] as const
export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[number] | `tls-alert:${string}`

/** Whether `v` is a capture error code (what a stored observation must hold). */
export function isCaptureErrorCode(v: unknown): v is CaptureErrorCode {
  return (
    typeof v === 'string' &&
    ((CAPTURE_ERROR_CODES as readonly string[]).includes(v) || /^tls-alert:[a-z0-9-]{1,64}$/.test(v))
  )
}

export interface CaptureError {
  code: CaptureErrorCode
  message: string
}

/** Maps a Node socket/TLS error to a capture code, in one place (zgrab2's TryGetScanStatus). */
export function captureErrorFrom(err: unknown): CaptureError {
  const e = err as NodeJS.ErrnoException & { reason?: string }
  // OpenSSL's own texts end with a newline.
  const message = (e?.message ?? String(err)).trim()
  const alert = alertFromNodeCode(e?.code)
  if (alert) return { code: `tls-alert:${alert}`, message }
  switch (e?.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'ENODATA':
      return { code: 'dns', message }
    case 'ECONNREFUSED':
      return { code: 'refused', message }
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { code: 'unreachable', message }
    case 'ETIMEDOUT':
      return { code: 'timeout', message }
    case 'ECONNRESET':
    case 'EPIPE':
      return { code: 'reset', message }
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_UNKNOWN_PROTOCOL':
    case 'ERR_SSL_RECORD_LAYER_FAILURE':
      return { code: 'not-tls', message }
    case 'ERR_SSL_EXCESSIVE_MESSAGE_SIZE':
      // A message past OpenSSL's own limits that the record reader did not see (e.g. encrypted).
      return { code: 'chain-over-node-limit', message }
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
      return { code: 'tls-alert:protocol-version', message }
    default:
      return { code: 'tls-error', message: e?.code ? `${e.code}: ${message}` : message }
  }
}
