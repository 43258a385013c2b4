import { isIP } from 'node:net'
import { issuedBy, type ParsedCert } from '../../chain/index.js'
import type { FailureClass, FirmwareProfile } from '../profile/profile.js'

export interface ChainVerdict {
  class: FailureClass | null
  /** CA look-up lines the module prints while judging (Skip CA, Loading:1:2). */
  lines: string[]
  /** Why, for the emulator's log and tests; never sent on the wire. */
  reason: string
}

/**
 * How the profile's module judges a served chain against its one uploaded CA. Pure: the chain,
 * the CA, the module clock and the host name in, a class out. Order follows what the module
 * can know when: sizes and key types while parsing the Certificate message, then the CA look-up,
 * signatures, validity and the name.
 */
export function judgeChain(served: readonly ParsedCert[], ca: ParsedCert | null, profile: FirmwareProfile, ctx: { host: string; now: Date }): ChainVerdict {
  const t = profile.tls
  const fail = (cls: FailureClass, reason: string, lines: string[] = []): ChainVerdict => ({ class: cls, lines, reason })
  let total = 0
  for (const [i, c] of served.entries()) {
    total += c.info.derBytes
    if (t.maxCertificateBytes !== null && c.info.derBytes > t.maxCertificateBytes) return fail('too-large', `certificate #${i} is ${c.info.derBytes} bytes, the module takes ${t.maxCertificateBytes}`)
  }
  if (t.maxChainBytes !== null && total > t.maxChainBytes) return fail('too-large', `chain is ${total} bytes, the module takes ${t.maxChainBytes}`)
  for (const [i, c] of served.entries()) {
    const why = keyProblem(c, profile)
    if (why) return fail('key-unsupported', `certificate #${i}: ${why}`)
  }
  if (ca) {
    const why = keyProblem(ca, profile)
    if (why) return fail('key-unsupported', `uploaded CA: ${why}`)
  }
  const path = t.anchorMatch === 'ski-aki' ? skiAkiPath(served, ca) : namePath(served, ca)
  if (typeof path === 'string' || path.certs === null) {
    const lines = typeof path === 'string' ? [] : path.lines
    return fail('untrusted', typeof path === 'string' ? path : path.reason, lines)
  }
  const lines = path.lines
  for (const c of path.certs) {
    if (c.info.signatureHash && !t.certificateSignatureHashes.includes(c.info.signatureHash)) {
      return fail('untrusted', `${c.info.subject} is signed with ${c.info.signatureHash}, which the module cannot verify`, lines)
    }
  }
  if (t.checkValidity) {
    const now = ctx.now.getTime()
    for (const c of [...path.certs, ...(ca ? [ca] : [])]) {
      if (Date.parse(c.info.notBefore) > now || Date.parse(c.info.notAfter) < now) {
        return fail('expired', `${c.info.subject} is valid ${c.info.notBefore} to ${c.info.notAfter}; module clock ${ctx.now.toISOString()}`, lines)
      }
    }
  }
  if (t.checkHostname && !nameMatches(served[0]!, ctx.host)) return fail('hostname', `leaf does not name ${ctx.host}`, lines)
  return { class: null, lines, reason: 'trusted' }
}

function keyProblem(c: ParsedCert, profile: FirmwareProfile): string | null {
  const k = c.info.key
  const limits = profile.tls.certificateKeys
  if (k.type === 'rsa') {
    if (k.bits === null || k.bits < limits.rsa.minBits || k.bits > limits.rsa.maxBits) return `RSA-${k.bits} outside ${limits.rsa.minBits}-${limits.rsa.maxBits} bits`
    return null
  }
  if (k.type === 'ec') return k.curve && limits.ecdsa.includes(k.curve) ? null : `ECDSA ${k.curve} not supported`
  return `${k.type} keys not supported`
}

/**
 * SPWF04SA: for each served certificate in the order sent, the CA whose key id equals its AKI
 * is asked for: a different stored id prints Skip CA, the match prints Loading:1:2 (reference
 * §5). The certificates from the leaf up to the match must then verify in the order sent.
 */
function skiAkiPath(served: readonly ParsedCert[], ca: ParsedCert | null): { certs: ParsedCert[] | null; lines: string[]; reason: string } {
  const lines: string[] = []
  for (const [k, c] of served.entries()) {
    if (ca && ca.info.ski && c.info.aki === ca.info.ski) {
      lines.push('AT-S.Loading:1:2')
      for (let i = 0; i < k; i++) {
        if (!issuedBy(served[i]!, served[i + 1]!)) return { certs: null, lines, reason: `certificate #${i} is not signed by #${i + 1} (the module verifies in the order sent)` }
      }
      if (!issuedBy(c, ca)) return { certs: null, lines, reason: `certificate #${k} names the CA's key id but its signature does not verify with it` }
      return { certs: served.slice(0, k + 1), lines, reason: 'matched' }
    }
    lines.push('AT-S.Skip CA')
  }
  return { certs: null, lines, reason: ca ? 'no served certificate has an AKI equal to the uploaded CA\'s SKI' : 'no CA uploaded' }
}

/** SPWF01SA (a GUESS in its profile): ordinary path building over the served certificates. */
function namePath(served: readonly ParsedCert[], ca: ParsedCert | null): { certs: ParsedCert[] | null; lines: string[]; reason: string } | string {
  if (!ca) return 'no CA uploaded'
  const walk = (cert: ParsedCert, path: ParsedCert[]): ParsedCert[] | null => {
    if (cert.info.sha256 === ca.info.sha256 || issuedBy(cert, ca)) return path
    if (path.length > 8) return null
    for (const next of served) {
      if (path.some((p) => p.info.sha256 === next.info.sha256)) continue
      if (issuedBy(cert, next)) {
        const found = walk(next, [...path, next])
        if (found) return found
      }
    }
    return null
  }
  const certs = walk(served[0]!, [served[0]!])
  return certs ? { certs, lines: [], reason: 'path' } : { certs: null, lines: [], reason: 'no path from the leaf to the uploaded CA' }
}

/** RFC 6125: DNS SANs (one left-most wildcard label), the CN only when there is no DNS SAN. */
export function nameMatches(leaf: ParsedCert, host: string): boolean {
  const h = host.toLowerCase()
  if (isIP(h)) return leaf.info.sans.some((s) => s.toLowerCase() === `ip:${h}`)
  const dns = leaf.info.sans.filter((s) => s.startsWith('dns:')).map((s) => s.slice(4).toLowerCase())
  const names = dns.length ? dns : [/CN=([^,]+)/.exec(leaf.info.subject)?.[1]?.toLowerCase() ?? '']
  return names.some((n) => n === h || (n.startsWith('*.') && h.endsWith(n.slice(1)) && !h.slice(0, h.length - n.length + 1).includes('.')))
}
