import { isIP } from 'node:net'
import type { ParsedCert } from '../chain/index.js'

/**
 * The names a module checks the host against (RFC 6125): the IP SANs for an address, else the DNS
 * SANs, else the CN when there is no DNS SAN. Lower-case, as compared.
 */
export function checkedNames(leaf: ParsedCert, host: string): string[] {
  if (isIP(host))
    return leaf.info.sans.filter((s) => s.toLowerCase().startsWith('ip:')).map((s) => s.slice(3).toLowerCase())
  const dns = leaf.info.sans.filter((s) => s.startsWith('dns:')).map((s) => s.slice(4).toLowerCase())
  if (dns.length) return dns
  const cn = /CN=([^,]+)/.exec(leaf.info.subject)?.[1]?.toLowerCase()
  return cn ? [cn] : []
}

/** RFC 6125: DNS SANs (one left-most wildcard label), the CN only when there is no DNS SAN. */
export function nameMatches(leaf: ParsedCert, host: string): boolean {
  const h = host.toLowerCase()
  const names = checkedNames(leaf, h)
  if (isIP(h)) return names.includes(h)
  return names.some(
    (n) =>
      n === h || (n.startsWith('*.') && h.endsWith(n.slice(1)) && !h.slice(0, h.length - n.length + 1).includes('.')),
  )
}
