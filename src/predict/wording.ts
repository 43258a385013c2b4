import { TLS_VERSIONS, type KeyInfo, type ParsedCert } from '../chain/index.js'
import { displayName } from '../chain/display-name.js'
import type { FirmwareProfile } from '../profile/profile.js'

/** `SPWF04SA 1.0.0`: how a reason names the module whose limit it quotes. */
export function moduleName(profile: FirmwareProfile): string {
  return `${profile.module} ${profile.firmware}`
}

/** Where a certificate sits, in the words a reason uses for it. */
export type Position = 'leaf' | 'intermediate' | 'root sent by the server' | 'uploaded CA'

export function servedPosition(c: ParsedCert, index: number): Position {
  if (index === 0) return 'leaf'
  return c.info.selfSigned ? 'root sent by the server' : 'intermediate'
}

/**
 * `intermediate “Some CA”`: the position, then the readable name between quotation marks (not
 * backticks: a why sentence is read as text in every format, and only Markdown would make them code).
 */
export function certLabel(c: ParsedCert, position: Position): string {
  return `${position} ${quoted(displayName(c.info.subject))}`
}

/** A name between typographic quotation marks, which read as such in a terminal, a page or a table. */
export function quoted(name: string): string {
  return `\u201c${name}\u201d`
}

export function keyText(k: KeyInfo): string {
  switch (k.type) {
    case 'rsa':
      return k.bits === null ? 'an RSA key of unknown size' : `an RSA-${k.bits} key`
    case 'ec':
      return `an ECDSA ${k.curve ?? 'unknown-curve'} key`
    case 'rsa-pss':
      return 'an RSA-PSS key'
    case 'ed25519':
      return 'an Ed25519 key'
    case 'ed448':
      return 'an Ed448 key'
    case 'dsa':
      return 'a DSA key'
    default:
      return 'a key of unknown type'
  }
}

/** `sha256` → `SHA-256`, `md5` → `MD5`, `rsa-pss` → `RSA-PSS`. */
export function hashText(hash: string): string {
  const m = /^sha(\d+)$/i.exec(hash)
  return m ? `SHA-${m[1]}` : hash.toUpperCase()
}

/** `A`, `A and B`, `A, B and C`. */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? ''
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

/** `TLSv1–TLSv1.2` for a contiguous range, else a list. */
export function versionsText(versions: readonly string[]): string {
  const order: readonly string[] = TLS_VERSIONS
  const idx = [...new Set(versions)].map((v) => order.indexOf(v)).sort((a, b) => a - b)
  if (idx.length === 0) return 'no TLS version'
  if (idx.includes(-1)) return listText(versions)
  const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1)
  if (idx.length > 1 && contiguous) return `${order[idx[0]!]}–${order[idx[idx.length - 1]!]}`
  return listText(idx.map((i) => order[i]!))
}

/** The key exchange of an IANA suite name (`ECDHE-RSA`, `RSA`…), null for TLS 1.3 suites. */
export function keyExchangeOf(suite: string): string | null {
  const m = /^TLS_(.+)_WITH_/.exec(suite)
  return m ? m[1]!.replace(/_/g, '-') : null
}

/** The bulk cipher of an IANA suite name (`AES-128-GCM`). */
function bulkOf(suite: string): string | null {
  const m = /_WITH_(.+)_(SHA\d*|MD5)$/.exec(suite) ?? /^TLS_(.+)_(SHA\d*)$/.exec(suite)
  return m ? m[1]!.replace(/_/g, '-') : null
}

/**
 * What the profile's suites offer, in words: `RSA key exchange only`, `ECDHE-ECDSA, ECDHE-RSA and
 * RSA key exchange`; with the bulk ciphers when `withBulk` (the server's choice shares a key
 * exchange with the module, so the difference is the cipher).
 */
export function suitesText(suites: readonly string[], withBulk: boolean): string {
  const kx = [...new Set(suites.map(keyExchangeOf).filter((k): k is string => k !== null))]
  const tls13 = suites.some((s) => keyExchangeOf(s) === null)
  let text =
    kx.length === 1 && !tls13
      ? `${kx[0]} key exchange only`
      : `${listText([...kx, ...(tls13 ? ['TLS 1.3 suites'] : [])])}${kx.length ? ' key exchange' : ''}`
  if (kx.length === 0 && !tls13) text = 'no cipher suite'
  if (withBulk) {
    const bulk = [...new Set(suites.map(bulkOf).filter((b): b is string => b !== null))]
    if (bulk.length) text += ` with ${listText(bulk)}`
  }
  return text
}

/** An ISO-8601 instant without milliseconds. */
export function instantText(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
