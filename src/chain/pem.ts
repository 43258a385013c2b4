/** Splits PEM text into DER blocks of the given label; ignores text between blocks. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g')
  const out: Buffer[] = []
  for (const m of text.matchAll(re)) out.push(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'))
  return out
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}
