/** TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2), written as stable kebab-case codes. */
export const TLS_ALERTS: Readonly<Record<number, string>> = {
  0: 'close-notify',
  10: 'unexpected-message',
  20: 'bad-record-mac',
  21: 'decryption-failed',
  22: 'record-overflow',
  30: 'decompression-failure',
  40: 'handshake-failure',
  41: 'no-certificate',
  42: 'bad-certificate',
  43: 'unsupported-certificate',
  44: 'certificate-revoked',
  45: 'certificate-expired',
  46: 'certificate-unknown',
  47: 'illegal-parameter',
  48: 'unknown-ca',
  49: 'access-denied',
  50: 'decode-error',
  51: 'decrypt-error',
  60: 'export-restriction',
  70: 'protocol-version',
  71: 'insufficient-security',
  80: 'internal-error',
  86: 'inappropriate-fallback',
  90: 'user-canceled',
  100: 'no-renegotiation',
  109: 'missing-extension',
  110: 'unsupported-extension',
  112: 'unrecognized-name',
  113: 'bad-certificate-status-response',
  115: 'unknown-psk-identity',
  116: 'certificate-required',
  120: 'no-application-protocol',
}

export function alertName(code: number): string {
  return TLS_ALERTS[code] ?? `alert-${code}`
}

/**
 * Node reports alerts it received as ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE or
 * ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION; the tap normally sees the alert itself, this is the
 * fallback when it did not (e.g. an alert after the record layer was encrypted).
 */
export function alertFromNodeCode(code: string | undefined): string | null {
  const m = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code ?? '')
  return m?.[1] ? m[1].toLowerCase().replace(/_/g, '-') : null
}
