import { x509 } from '../core/x509.js'
import { truncate } from '../core/sanitize.js'

/**
 * A certificate named for people: its most specific part first (the CN, else the last RDN), then
 * the rest from specific to general, cut at the end. Subjects such as badssl's start with a long
 * `C=…, ST=…, L=…, O=…` prefix, so a root and its intermediate read the same when the DN is cut
 * in its stored order; this way what tells them apart survives the cut.
 */
export function displayName(subject: string, max = 60): string {
  let rdns: Array<Record<string, string[]>>
  try {
    rdns = new x509.Name(subject).toJSON()
  } catch {
    return truncate(subject, max)
  }
  if (rdns.length === 0) return truncate(subject, max)
  const text = (rdn: Record<string, string[]>) => Object.entries(rdn).map(([type, values]) => values.map((v) => `${type}=${v}`).join('+')).join('+')
  let primary = -1
  for (let i = rdns.length - 1; i >= 0 && primary < 0; i--) if (rdns[i]!.CN) primary = i
  if (primary < 0) primary = rdns.length - 1
  const rest = rdns.map((_, i) => i).filter((i) => i !== primary).reverse()
  return truncate([primary, ...rest].map((i) => text(rdns[i]!)).join(', '), max)
}
