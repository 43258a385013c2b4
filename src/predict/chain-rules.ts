import { isIP } from 'node:net'
import { issuedBy, type ParsedCert } from '../chain/index.js'
import type { FailureClass, FirmwareProfile } from '../profile/profile.js'
import { displayName } from '../chain/display-name.js'
import { checkedNames, nameMatches } from './names.js'
import type { Reason } from './types.js'
import { certLabel, hashText, instantText, keyText, listText, moduleName, quoted, servedPosition } from './wording.js'

/** Whether `child` is signed by `issuer`; callers judging many cells pass a cached one. */
export type IssuedFn = (child: ParsedCert, issuer: ParsedCert) => boolean

export interface ChainContext {
  /** The name the module checks. */
  host: string
  /** The module's clock. */
  now: Date
  issued?: IssuedFn
}

export interface ChainJudgement {
  /** The failure class, null when the module accepts the chain. */
  class: FailureClass | null
  /** CA look-up lines the module prints while judging (Skip CA, Loading:1:2). */
  lines: string[]
  /** Why it fails: every problem of the check the module stops at; empty for a pass. */
  reasons: Reason[]
}

/**
 * How the profile's module judges a served chain against its one uploaded CA. Pure: the chain,
 * the CA, the module clock and the host name in, a class out. Order follows what the module
 * can know when: sizes and key types while parsing the Certificate message, then the CA look-up,
 * signatures, validity and the name.
 */
export function judgeChain(
  served: readonly ParsedCert[],
  ca: ParsedCert | null,
  profile: FirmwareProfile,
  ctx: ChainContext,
): ChainJudgement {
  const t = profile.tls
  const m = moduleName(profile)
  const issued = ctx.issued ?? issuedBy
  const fail = (cls: FailureClass, reasons: Reason[], lines: string[] = []): ChainJudgement => ({
    class: cls,
    lines,
    reasons,
  })
  // By fingerprint: a caller's cache may hand the same certificate as another object.
  const label = (c: ParsedCert) => {
    const i = served.findIndex((s) => s.info.sha256 === c.info.sha256)
    return certLabel(c, i >= 0 ? servedPosition(served[i]!, i) : 'uploaded CA')
  }

  const sizes: Reason[] = []
  let total = 0
  for (const c of served) {
    total += c.info.derBytes
    if (t.maxCertificateBytes !== null && c.info.derBytes > t.maxCertificateBytes) {
      sizes.push({
        code: 'cert-too-large',
        text: `${label(c)} is ${c.info.derBytes} bytes; ${m} accepts certificates up to ${t.maxCertificateBytes} bytes`,
        cert: c.info.sha256,
      })
    }
  }
  if (t.maxChainBytes !== null && total > t.maxChainBytes) {
    sizes.push({
      code: 'chain-too-large',
      text: `the chain the server sends is ${total} bytes in ${served.length} certificate(s); ${m} accepts chains up to ${t.maxChainBytes} bytes`,
      cert: null,
    })
  }
  if (sizes.length) return fail('too-large', sizes)

  const keys: Reason[] = []
  for (const c of distinct(ca ? [...served, ca] : served)) {
    const why = keyProblem(c, profile)
    if (why)
      keys.push({
        code: why.code,
        text: `${label(c)} has ${keyText(c.info.key)}; ${m} ${why.limit}`,
        cert: c.info.sha256,
      })
  }
  if (keys.length) return fail('key-unsupported', keys)

  const path =
    t.anchorMatch === 'ski-aki'
      ? skiAkiPath(served, ca, profile, issued, label)
      : namePath(served, ca, profile, issued, label)
  if ('reason' in path) return fail('untrusted', [path.reason], path.lines)
  const lines = path.lines

  const hashes: Reason[] = []
  for (const c of path.certs) {
    const h = c.info.signatureHash
    if (h && !t.certificateSignatureHashes.includes(h)) {
      hashes.push({
        code: 'signature-hash-unsupported',
        text: `${label(c)} is signed with ${hashText(h)}; ${m} verifies ${listText(t.certificateSignatureHashes.map(hashText))} signatures only`,
        cert: c.info.sha256,
      })
    }
  }
  if (hashes.length) return fail('untrusted', hashes, lines)

  if (t.checkValidity) {
    const now = ctx.now.getTime()
    // Words only for a problem: this runs for every cell of a 100,000-cell report.
    const clock = () => `${m}'s clock reads ${instantText(ctx.now)}`
    const span = (c: ParsedCert) => `valid ${instantText(c.info.notBefore)} to ${instantText(c.info.notAfter)}`
    const dates: Reason[] = []
    const judged = distinct(ca ? [...path.certs, ca] : path.certs)
    // Before every certificate's start: not a certificate's fault, the clock was never set.
    if (judged.length > 0 && judged.every((c) => Date.parse(c.info.notBefore) > now)) {
      return fail(
        'clock',
        [
          {
            code: 'clock-not-set',
            text: `${clock()}, before every certificate's start (the earliest valid from ${instantText(new Date(Math.min(...judged.map((c) => Date.parse(c.info.notBefore)))))}): the module's clock was not set`,
            cert: null,
          },
        ],
        lines,
      )
    }
    for (const c of judged) {
      if (Date.parse(c.info.notBefore) > now)
        dates.push({
          code: 'not-yet-valid',
          text: `${label(c)} is not valid yet (${span(c)}); ${clock()}`,
          cert: c.info.sha256,
        })
      else if (Date.parse(c.info.notAfter) < now)
        dates.push({
          code: 'expired',
          text: `${label(c)} expired on ${instantText(c.info.notAfter)} (${span(c)}); ${clock()}`,
          cert: c.info.sha256,
        })
    }
    if (dates.length) return fail('expired', dates, lines)
  }

  const leaf = served[0]!
  if (t.checkHostname && !nameMatches(leaf, ctx.host)) {
    const names = checkedNames(leaf, ctx.host)
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : listText(names)
    // An address is checked against IP SANs only: the CN and DNS names do not count for it.
    const none = isIP(ctx.host)
      ? 'no IP address (an address is matched against IP SANs only, never the CN)'
      : 'no host (no DNS name, no CN)'
    const text = names.length
      ? `${label(leaf)} names ${shown}, not ${ctx.host}`
      : `${label(leaf)} names ${none}, not ${ctx.host}`
    return fail('hostname', [{ code: 'hostname-mismatch', text, cert: leaf.info.sha256 }], lines)
  }
  return { class: null, lines, reasons: [] }
}

/** Why the module refuses a certificate's key: a stable code and the limit, in words after the module's name. */
function keyProblem(c: ParsedCert, profile: FirmwareProfile): { code: string; limit: string } | null {
  const k = c.info.key
  const limits = profile.tls.certificateKeys
  const rsaRange = `accepts RSA keys of ${limits.rsa.minBits}–${limits.rsa.maxBits} bits`
  if (k.type === 'rsa') {
    if (k.bits === null) return { code: 'key-size-unknown', limit: rsaRange }
    if (k.bits > limits.rsa.maxBits) return { code: 'key-too-large', limit: rsaRange }
    if (k.bits < limits.rsa.minBits) return { code: 'key-too-small', limit: rsaRange }
    return null
  }
  if (k.type === 'ec') {
    if (k.curve && limits.ecdsa.includes(k.curve)) return null
    if (limits.ecdsa.length === 0) return { code: 'ecdsa-unsupported', limit: 'accepts no ECDSA keys (RSA only)' }
    return { code: 'curve-unsupported', limit: `accepts ECDSA keys on ${listText(limits.ecdsa)} only` }
  }
  return { code: 'key-type-unsupported', limit: `accepts ${limits.ecdsa.length ? 'RSA and ECDSA' : 'RSA'} keys only` }
}

type Path = { certs: ParsedCert[]; lines: string[] } | { reason: Reason; lines: string[] }
type Label = (c: ParsedCert) => string

const noCa = (profile: FirmwareProfile): Reason => ({
  code: 'no-ca',
  text: `no CA is uploaded; ${moduleName(profile)} trusts only its uploaded CA`,
  cert: null,
})

/**
 * SPWF04SA: for each served certificate in the order sent, the CA whose key id equals its AKI
 * is asked for: a different stored id prints Skip CA, the match prints Loading:1:2 (reference
 * §5). The certificates from the leaf up to the match must then verify in the order sent.
 */
function skiAkiPath(
  served: readonly ParsedCert[],
  ca: ParsedCert | null,
  profile: FirmwareProfile,
  issued: IssuedFn,
  label: Label,
): Path {
  const m = moduleName(profile)
  const lines: string[] = []
  for (const [k, c] of served.entries()) {
    if (ca && ca.info.ski && c.info.aki === ca.info.ski) {
      lines.push('AT-S.Loading:1:2')
      for (let i = 0; i < k; i++) {
        if (!issued(served[i]!, served[i + 1]!)) {
          return {
            lines,
            reason: {
              code: 'chain-order',
              text: `${label(served[i]!)} is not signed by ${label(served[i + 1]!)}, the next certificate sent; ${m} verifies the chain in the order sent`,
              cert: served[i]!.info.sha256,
            },
          }
        }
      }
      if (!issued(c, ca)) {
        return {
          lines,
          reason: {
            code: 'ca-signature-mismatch',
            text: `${label(c)} names the key id ${ca.info.ski} of the uploaded CA ${quoted(displayName(ca.info.subject))} but its signature does not verify with the CA's key`,
            cert: c.info.sha256,
          },
        }
      }
      return { certs: served.slice(0, k + 1), lines }
    }
    lines.push('AT-S.Skip CA')
  }
  if (!ca) return { lines, reason: noCa(profile) }
  const ca$ = certLabel(ca, 'uploaded CA')
  if (!ca.info.ski)
    return {
      lines,
      reason: {
        code: 'ca-no-ski',
        text: `the ${ca$} has no subject key identifier; ${m} finds its CA by the key id in a served certificate's AKI`,
        cert: ca.info.sha256,
      },
    }
  const akis = served.slice(0, 6).map((c) => `${label(c)}: ${c.info.aki ?? 'none'}`)
  return {
    lines,
    reason: {
      code: 'ca-not-issuer',
      text: `the ${ca$} is not the issuer of any certificate the server sends: ${m} looked for its key id ${ca.info.ski} in their AKIs (${akis.join('; ')})`,
      cert: ca.info.sha256,
    },
  }
}

/** SPWF01SA (a GUESS in its profile): ordinary path building over the served certificates. */
function namePath(
  served: readonly ParsedCert[],
  ca: ParsedCert | null,
  profile: FirmwareProfile,
  issued: IssuedFn,
  label: Label,
): Path {
  if (!ca) return { lines: [], reason: noCa(profile) }
  const walk = (cert: ParsedCert, path: ParsedCert[]): ParsedCert[] | null => {
    if (cert.info.sha256 === ca.info.sha256 || issued(cert, ca)) return path
    if (path.length > 8) return null
    for (const next of served) {
      if (path.some((p) => p.info.sha256 === next.info.sha256)) continue
      if (issued(cert, next)) {
        const found = walk(next, [...path, next])
        if (found) return found
      }
    }
    return null
  }
  const certs = walk(served[0]!, [served[0]!])
  if (certs) return { certs, lines: [] }
  const ca$ = certLabel(ca, 'uploaded CA')
  const child = served.find((c) => c.info.sha256 === ca.info.sha256 || issued(c, ca))
  if (child) {
    return {
      lines: [],
      reason: {
        code: 'no-path',
        text: `no path from ${label(served[0]!)} to the ${ca$}: the CA issued ${label(child)}, but the leaf does not chain to it through the certificates the server sends`,
        cert: ca.info.sha256,
      },
    }
  }
  return {
    lines: [],
    reason: {
      code: 'ca-not-issuer',
      text: `the ${ca$} is not the issuer of any certificate the server sends: none of them verifies with its key (${moduleName(profile)} builds the path by signature)`,
      cert: ca.info.sha256,
    },
  }
}

/** The certificates once each (a CA that is also served is judged as served). */
function distinct(certs: readonly ParsedCert[]): ParsedCert[] {
  const seen = new Set<string>()
  return certs.filter((c) => !seen.has(c.info.sha256) && seen.add(c.info.sha256))
}
