import { truncate } from '../core/sanitize.js'

/**
 * A certificate named for people: its most specific part first (the CN, else the last RDN), then
 * the rest from specific to general, cut at the end. Subjects such as badssl's start with a long
 * `C=…, ST=…, L=…, O=…` prefix, so a root and its intermediate read the same when the DN is cut
 * in its stored order; this way what tells them apart survives the cut.
 */
export function displayName(subject: string, max = 60): string {
  const rdns = splitRdns(subject)
  if (rdns.length < 2) return truncate(subject, max)
  let primary = -1
  for (let i = rdns.length - 1; i >= 0 && primary < 0; i--)
    if (/^CN=/i.test(rdns[i]!) || /\+CN=/i.test(rdns[i]!)) primary = i
  if (primary < 0) primary = rdns.length - 1
  const rest = rdns
    .map((_, i) => i)
    .filter((i) => i !== primary)
    .reverse()
  return truncate([primary, ...rest].map((i) => rdns[i]!).join(', '), max)
}

/**
 * Splits a DN as the certificate reader prints it (`C=US, O=A\, B, CN=x`) at its top-level
 * commas, honouring backslash escapes and quoted values; no certificate library is loaded for it
 * (start-up time), and a malformed name still splits somewhere harmless.
 */
function splitRdns(dn: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[++i]!
    } else if (c === '"') {
      quoted = !quoted
      cur += c
    } else if (c === ',' && !quoted) {
      out.push(cur.trim())
      cur = ''
    } else cur += c
  }
  out.push(cur.trim())
  return out.filter((r) => r.length > 0)
}
