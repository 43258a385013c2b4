import type { KeySpec } from '../../lab/spec.js'
import type { LearnKit } from '../kit.js'
import type { CertSignature } from '../../lab/pki.js'

const O = 'O=tlsmatrix learn'
const DAY = 86_400_000
export const HASH_PROBES: CertSignature[] = ['sha1', 'sha256', 'sha384', 'sha512', 'rsa-pss']

/** A chain from a root the module was not given: the module's lines for an untrusted chain. */
export async function learnUntrusted(kit: LearnKit): Promise<void> {
  const root = await kit.pki.issue({
    subject: `CN=tlsmatrix learn Unrelated Root, ${O}`,
    key: 'rsa-2048',
    keySlot: 'other-root',
    issuer: 'self',
    ca: true,
  })
  const int = await kit.pki.issue({
    subject: `CN=tlsmatrix learn Unrelated Intermediate, ${O}`,
    key: 'rsa-2048',
    keySlot: 'other-int',
    issuer: root,
    ca: true,
  })
  const leaf = await kit.issueLeaf({ issuer: int })
  const o = await kit.probe('check.untrusted', 'a chain from a root that was not uploaded', kit.tls([leaf, int]))
  if (o.outcome === 'fail') kit.found.lines('untrusted', o.lines, o.attemptId)
  kit.found.facts.untrustedChain = o.outcome
  if (o.outcome === 'pass')
    kit.found.unknown('errors.untrusted', 'the module accepted a chain from a root it was not given')
  if (o.outcome === 'pass')
    kit.found.notes.push(
      `The module accepted a chain from a root it was not given (attempt ${o.attemptId}): it may not check trust at all.`,
    )
}

/** Signature hashes on the leaf (by the intermediate) and on the intermediate (by the root). */
export async function learnHashes(kit: LearnKit): Promise<void> {
  const ok = new Map<CertSignature, boolean>()
  const attempts: Array<number | null> = []
  let complete = true
  for (const h of HASH_PROBES) {
    let accepted = true
    for (const pos of ['leaf', 'intermediate'] as const) {
      if (h === 'sha256') {
        attempts.push(kit.baseline?.attemptId ?? null)
        continue
      }
      const int =
        pos === 'intermediate'
          ? await kit.pki.issue({
              subject: `CN=tlsmatrix learn Intermediate RSA-2048, ${O}`,
              key: 'rsa-2048',
              keySlot: 'int',
              issuer: kit.root,
              ca: true,
              signature: h,
            })
          : kit.int
      const leaf = await kit.issueLeaf({ issuer: int, ...(pos === 'leaf' ? { signature: h } : {}) })
      const o = await kit.probe(`hash.${pos}.${h}`, `${pos} signed with ${h}`, kit.tls([leaf, int]))
      attempts.push(o.attemptId)
      if (o.outcome === 'not-run') complete = false
      if (o.outcome === 'fail') accepted = false
    }
    ok.set(h, accepted)
  }
  if (!complete) return kit.found.unknown('tls.certificateSignatureHashes', 'a hash probe got no verdict')
  kit.found.set(
    'tls.certificateSignatureHashes',
    HASH_PROBES.filter((h) => ok.get(h)),
    'probe',
    attempts,
    `tried ${HASH_PROBES.join(', ')} on the leaf and the intermediate`,
  )
}

/** Expired and not-yet-valid leaves, against the module clock the session set from this host's. */
export async function learnValidity(kit: LearnKit): Promise<void> {
  const now = kit.now.getTime()
  const expired = await kit.issueLeaf({ notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) })
  const early = await kit.issueLeaf({ notBefore: new Date(now + DAY), notAfter: new Date(now + 365 * DAY) })
  const a = await kit.probe('check.expired', 'a leaf that expired yesterday', kit.tls([expired, kit.int]))
  const b = await kit.probe('check.not-yet-valid', 'a leaf valid from tomorrow', kit.tls([early, kit.int]))
  if (a.outcome === 'fail') kit.found.lines('expired', a.lines, a.attemptId)
  if (a.outcome === 'not-run' || b.outcome === 'not-run')
    return kit.found.unknown('tls.checkValidity', 'a validity probe got no verdict')
  const checks = a.outcome === 'fail' || b.outcome === 'fail'
  const note = a.outcome !== b.outcome ? `expired leaf: ${a.outcome}, not-yet-valid leaf: ${b.outcome}` : undefined
  kit.found.set('tls.checkValidity', checks, 'probe', [a.attemptId, b.attemptId], note)
  if (!checks)
    kit.found.unknown('errors.expired', 'the module accepted an expired leaf: it prints no line for this class')
}

/** Before every certificate's start: the module's clock as it is after power-on, before anyone sets it. */
export const UNSET_CLOCK = new Date(Date.UTC(2000, 0, 1))

/**
 * The baseline chain with the module's clock at 2000-01-01 (a clock nobody set): the lines for
 * the `clock` class. Only on a module that checks dates; one that does not passes whatever its clock.
 */
export async function learnClock(kit: LearnKit): Promise<void> {
  const checks = kit.found.values.get('tls.checkValidity')?.value
  if (checks !== true)
    return kit.found.unknown(
      'errors.clock',
      checks === false ? 'the module checks no dates: its clock does not matter' : 'the validity probes got no verdict',
    )
  const o = await kit.probe(
    'check.clock',
    `the baseline chain, the module's clock at ${UNSET_CLOCK.toISOString()}`,
    kit.tls([kit.leaf, kit.int]),
    kit.root,
    { clockAt: UNSET_CLOCK },
  )
  if (o.outcome === 'fail') kit.found.lines('clock', o.lines, o.attemptId)
  else if (o.outcome === 'pass')
    kit.found.unknown(
      'errors.clock',
      `with its clock at ${UNSET_CLOCK.toISOString()} the module accepted the baseline chain`,
    )
  else kit.found.unknown('errors.clock', 'the clock probe got no verdict')
}

/** A leaf for another name, and a leaf naming the host in its CN only. */
export async function learnHostname(kit: LearnKit): Promise<void> {
  const wrong = await kit.issueLeaf({ subject: `CN=${kit.names.otherHost}, ${O}`, sans: [kit.names.otherHost] })
  const cnOnly = await kit.issueLeaf({ sans: [] })
  const a = await kit.probe('check.hostname', `a leaf for ${kit.names.otherHost} only`, kit.tls([wrong, kit.int]))
  const b = await kit.probe(
    'check.cn-only',
    'a leaf naming the host in its CN, without SAN',
    kit.tls([cnOnly, kit.int]),
  )
  if (a.outcome === 'fail') kit.found.lines('hostname', a.lines, a.attemptId)
  if (b.outcome !== 'not-run') kit.found.facts.cnOnlyLeaf = b.outcome === 'pass' ? 'accepted' : 'refused'
  if (a.outcome === 'not-run') return kit.found.unknown('tls.checkHostname', 'the host-name probe got no verdict')
  kit.found.set('tls.checkHostname', a.outcome === 'fail', 'probe', [a.attemptId])
  if (a.outcome === 'pass')
    kit.found.unknown(
      'errors.hostname',
      'the module accepted a leaf for another name: it prints no line for this class',
    )
}

/**
 * A server that sends a leaf for another name to a hello without SNI: the module passes only if
 * it sent SNI (or checks no name). Evidence for `tls.sni`, which the hello itself shows.
 */
export async function learnSni(kit: LearnKit): Promise<void> {
  const wrong = await kit.issueLeaf({ subject: `CN=${kit.names.otherHost}, ${O}`, sans: [kit.names.otherHost] })
  const o = await kit.probe(
    'check.sni',
    "a server that sends another name's leaf when the hello has no SNI",
    kit.tls([kit.leaf, kit.int], { noSni: [wrong, kit.int] }),
  )
  const seen = o.connections.find((c) => c.hello)?.servername ?? null
  const sni = kit.found.values.get('tls.sni')
  if (sni && o.attemptId !== null) sni.attempts.push(o.attemptId)
  kit.found.facts.sniProbe = { outcome: o.outcome, servername: seen }
}

/** An unrelated certificate with a key the module refuses, after the chain: ignored or fatal? */
export async function learnExtraCertificate(kit: LearnKit, refused: KeySpec | null): Promise<void> {
  if (!refused) {
    kit.found.facts.extraCertificate = 'not tried: the module accepted every key type'
    return
  }
  const extra = await kit.pki.issue({
    subject: `CN=tlsmatrix learn Unrelated ${refused}, ${O}`,
    key: refused,
    keySlot: 'extra',
    issuer: 'self',
    ca: true,
  })
  const o = await kit.probe(
    'check.extra-certificate',
    `an unrelated ${refused} certificate after the chain`,
    kit.tls([kit.leaf, kit.int, extra]),
  )
  if (o.outcome !== 'not-run')
    kit.found.facts.extraCertificate = {
      key: refused,
      verdict: o.outcome === 'pass' ? 'ignored' : 'fatal',
      attempt: o.attemptId,
    }
}

/** Failures before TLS and after it: a closed port, a name that does not resolve, an HTTP error. */
export async function learnNetworkErrors(kit: LearnKit): Promise<void> {
  const closed = await kit.probe('error.connect', 'a port nothing listens on', null, kit.root, {
    port: kit.names.closedPort,
  })
  if (closed.outcome === 'fail') kit.found.lines('connect', closed.lines, closed.attemptId)
  const dns = await kit.probe('error.dns', `${kit.names.nxHost}, a name that does not resolve`, null, kit.root, {
    host: kit.names.nxHost,
  })
  if (dns.outcome === 'fail') kit.found.lines('dns', dns.lines, dns.attemptId)
  const http = await kit.probe(
    'error.http',
    'the baseline chain, a path answered 404',
    kit.tls([kit.leaf, kit.int]),
    kit.root,
    { path: '/status/404' },
  )
  if (http.outcome === 'fail') kit.found.lines('http', http.lines, http.attemptId)
  else if (http.outcome === 'pass') kit.found.unknown('errors.http', 'the module reported a 404 answer as a success')
}

/** A server that accepts and never answers: the module's own time-out, and its lines. */
export async function learnTimeout(kit: LearnKit): Promise<void> {
  const o = await kit.probe('error.timeout', 'a server that accepts the connection and never answers', {
    kind: 'stall',
  })
  if (o.outcome === 'fail') kit.found.lines('timeout', o.lines, o.attemptId)
}
