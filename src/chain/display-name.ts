import { truncate } from '../core/sanitize.js'

/**
 * A name's default length: long enough for the longest CA names in use to stay whole
 * (`CN=VeriSign Class 3 Public Primary Certification Authority - G5` is 63 characters).
 */
export const NAME_MAX = 64

/**
 * A certificate named for people: its most specific part first (the CN, else the last RDN), then
 * the rest from specific to general. Subjects such as badssl's start with a long `C=…, ST=…, L=…,
 * O=…` prefix, so a root and its intermediate read the same when the DN is cut in its stored order;
 * this way what tells them apart comes first. Too long, the name is cut so that the CN stays whole
 * when it fits (whole RDNs after it are dropped, `, …` says so), and a CN longer than `max` is cut
 * in its middle: the end of a CA's name is often what tells it apart ("… Authority - G5", "… R3").
 */
export function displayName(subject: string, max = NAME_MAX): string {
  const rdns = splitRdns(subject)
  if (rdns.length < 2) return middleCut(subject, max)
  let primary = -1
  for (let i = rdns.length - 1; i >= 0 && primary < 0; i--)
    if (/^CN=/i.test(rdns[i]!) || /\+CN=/i.test(rdns[i]!)) primary = i
  if (primary < 0) primary = rdns.length - 1
  const rest = rdns
    .map((_, i) => i)
    .filter((i) => i !== primary)
    .reverse()
    .map((i) => rdns[i]!)
  const first = rdns[primary]!
  const whole = [first, ...rest].join(', ')
  if (whole.length <= max) return whole
  if (first.length > max) return middleCut(first, max)
  // The CN whole, then as many whole RDNs as fit, then `, …` for the ones left out.
  let out = first
  for (const r of rest) {
    if (`${out}, ${r}, …`.length > max) break
    out += `, ${r}`
  }
  return `${out}, …`.length <= max ? `${out}, …` : truncate(out, max)
}

/**
 * `text` in at most `max` characters, cut in the middle: the start (what kind of name) and the end
 * (what tells it apart from its siblings) stay, at word boundaries when they can.
 */
export function middleCut(text: string, max: number): string {
  if (text.length <= max) return text
  if (max < 8) return truncate(text, max)
  const room = max - 3 // " … "
  // The end keeps up to half the room, from a word's start when there is one in it.
  let tailStart = text.length - Math.floor(room / 2)
  if (text[tailStart - 1] !== ' ') {
    const space = text.indexOf(' ', tailStart)
    if (space >= 0 && space < text.length - 1) tailStart = space + 1
  }
  const tail = text.slice(tailStart)
  let head = text.slice(0, room - tail.length)
  // Back to a word's end, unless that loses more than a third of the start.
  const lastSpace = head.lastIndexOf(' ')
  if (lastSpace > 0 && head.length - lastSpace <= Math.max(8, head.length / 3)) head = head.slice(0, lastSpace)
  return `${head.trimEnd()} … ${tail}`
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
