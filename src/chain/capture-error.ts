import { alertFromNodeCode } from './tls-alerts.js'

/**
 * Stable failure codes of a capture, one per thing a user would do differently:
 * dns, refused, unreachable, timeout, reset, closed, not-tls, tls-alert:<name>,
 * malformed-handshake, chain-too-large (our cap), chain-over-node-limit (OpenSSL's), malformed-certificate, no-certificate, tls-error.
 */
export interface CaptureError {
  code: string
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
