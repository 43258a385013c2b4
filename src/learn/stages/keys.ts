import { KEY_SPECS, type KeySpec } from '../../lab/spec.js'
import { curveOf, EC_KEYS, groupOf, rsaBits, RSA_KEYS, type LearnKit } from '../kit.js'
import type { ProbeCert } from '../lab/index.js'
import type { ProbeOutcome } from '../session.js'

export type Position = 'leaf' | 'intermediate' | 'root'
export interface KeyResult {
  ok: boolean
  attempt: number | null
  lines: string[]
}
export type KeyResults = Map<Position, Map<KeySpec, KeyResult>>

const O = 'O=tlsmatrix learn'
const verdict = (o: ProbeOutcome): KeyResult | null =>
  o.outcome === 'not-run' ? null : { ok: o.outcome === 'pass', attempt: o.attemptId, lines: o.lines }

/**
 * Each key type as the intermediate: the leaf and root stay the baseline's, so the only new thing
 * the module sees is the intermediate's key (and its signature on the leaf). No upload.
 */
export async function learnIntermediateKeys(kit: LearnKit, results: KeyResults): Promise<void> {
  const at = new Map<KeySpec, KeyResult>()
  results.set('intermediate', at)
  for (const k of KEY_SPECS) {
    if (k === 'rsa-2048') {
      at.set(k, baselineResult(kit))
      continue
    }
    const int = await kit.pki.issue({
      subject: `CN=tlsmatrix learn Intermediate ${k}, ${O}`,
      key: k,
      keySlot: 'int',
      issuer: kit.root,
      ca: true,
    })
    const leaf = await kit.issueLeaf({ issuer: int })
    const o = await kit.probe(`key.intermediate.${k}`, `intermediate key ${k}`, kit.tls([leaf, int]))
    const r = verdict(o)
    if (r) at.set(k, r)
    if (r && !r.ok) kit.found.lines('key-unsupported', r.lines, r.attempt)
  }
}

/**
 * Each key type as the leaf. RSA leaves work with any RSA suite; an EC leaf needs an ECDSA suite
 * the module completes and its curve among the hello's groups, else the handshake, not the key,
 * is what fails: such a leaf is not tried.
 */
export async function learnLeafKeys(
  kit: LearnKit,
  results: KeyResults,
  ecdsaSuite: string | null,
  groups: readonly string[],
): Promise<void> {
  const at = new Map<KeySpec, KeyResult>()
  results.set('leaf', at)
  const untried: string[] = []
  for (const k of KEY_SPECS) {
    const isEc = k.startsWith('ec-')
    if (isEc && (ecdsaSuite === null || !groups.includes(groupOf(k)))) {
      untried.push(k)
      continue
    }
    if (k === kit.leafKey) {
      at.set(k, baselineResult(kit))
      continue
    }
    const leaf = await kit.pki.issue({
      subject: `CN=${kit.names.host}, ${O}`,
      key: k,
      keySlot: 'leaf',
      issuer: kit.int,
      sans: [kit.names.host],
    })
    const o = await kit.probe(
      `key.leaf.${k}`,
      `leaf key ${k}`,
      kit.tls([leaf, kit.int], isEc && ecdsaSuite ? { cipherSuites: [ecdsaSuite] } : {}),
    )
    const r = verdict(o)
    if (r) at.set(k, r)
  }
  if (untried.length)
    kit.found.facts.leafKeysNotTried = `${untried.join(', ')}: ${ecdsaSuite === null ? 'the module completes no ECDSA suite' : "curve not among the hello's groups"}`
}

/** Each key type as the uploaded root (an upload each): a refused upload is the module's answer too. */
export async function learnRootKeys(kit: LearnKit, results: KeyResults): Promise<void> {
  const at = new Map<KeySpec, KeyResult>()
  results.set('root', at)
  for (const k of KEY_SPECS) {
    if (k === 'rsa-2048') {
      at.set(k, baselineResult(kit))
      continue
    }
    const root = await kit.pki.issue({
      subject: `CN=tlsmatrix learn Root ${k}, ${O}`,
      key: k,
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
    const up = await kit.session.tryUpload(`key.root.${k}.upload`, `upload a root with key ${k}`, root)
    if (!up.accepted) {
      at.set(k, { ok: false, attempt: up.attemptId, lines: up.lines })
      continue
    }
    const int = await issueIntermediateUnder(kit, root)
    const leaf = await kit.issueLeaf({ issuer: int })
    const o = await kit.probe(`key.root.${k}`, `root key ${k}`, kit.tls([leaf, int]), root)
    const r = verdict(o)
    if (r) at.set(k, r)
  }
}

async function issueIntermediateUnder(kit: LearnKit, root: ProbeCert): Promise<ProbeCert> {
  return await kit.pki.issue({
    subject: `CN=tlsmatrix learn Intermediate RSA-2048, ${O}`,
    key: 'rsa-2048',
    keySlot: 'int',
    issuer: root,
    ca: true,
  })
}

/** The baseline's key (RSA-2048 as intermediate and root, the leaf's own type): its result is the baseline probe's. */
const baselineResult = (kit: LearnKit): KeyResult => ({
  ok: kit.baseline?.outcome === 'pass',
  attempt: kit.baseline?.attemptId ?? null,
  lines: [],
})

/**
 * The profile's key limits: a key type is accepted when every position that tried it took it
 * (the module checks every certificate it is given). Disagreements between positions are kept
 * as a note. `cut`: why the key probes may have stopped before every key type was tried (the
 * budget), said in what stays unknown.
 */
export function keyLimits(kit: LearnKit, results: KeyResults, cut: string | null = null): void {
  const f = kit.found
  const accepted = (k: KeySpec): { ok: boolean | null; attempts: number[]; positions: string[] } => {
    const rs = [...results.entries()]
      .map(([pos, m]) => [pos, m.get(k)] as const)
      .filter((x): x is [Position, KeyResult] => x[1] !== undefined)
    if (rs.length === 0) return { ok: null, attempts: [], positions: [] }
    return {
      ok: rs.every(([, r]) => r.ok),
      attempts: rs.map(([, r]) => r.attempt).filter((a): a is number => a !== null),
      positions: rs.filter(([, r]) => r.ok).map(([p]) => p),
    }
  }
  const split: string[] = []
  for (const k of KEY_SPECS) {
    const a = accepted(k)
    if (a.ok === false && a.positions.length > 0) split.push(`${k} accepted as ${a.positions.join(', ')} only`)
  }
  const rsa = RSA_KEYS.map((k) => ({ k, a: accepted(k) }))
  const why = (text: string) => (cut ? `${text}; ${cut}` : text)
  if (rsa.some((r) => r.a.ok === null)) f.unknown('tls.certificateKeys.rsa', why('not every RSA size got a verdict'))
  else {
    const ok = rsa.filter((r) => r.a.ok).map((r) => rsaBits(r.k))
    const gaps =
      ok.length > 0 &&
      ok.length !== RSA_KEYS.filter((k) => rsaBits(k) >= Math.min(...ok) && rsaBits(k) <= Math.max(...ok)).length
    f.set(
      'tls.certificateKeys.rsa',
      ok.length ? { minBits: Math.min(...ok), maxBits: Math.max(...ok) } : { minBits: 0, maxBits: 0 },
      'probe',
      rsa.flatMap((r) => r.a.attempts),
      [
        `tried ${RSA_KEYS.join(', ')}`,
        ok.length ? '' : 'no RSA key accepted',
        gaps ? 'the accepted sizes are not contiguous' : '',
      ]
        .filter(Boolean)
        .join('; '),
    )
  }
  const ec = EC_KEYS.map((k) => ({ k, a: accepted(k) }))
  if (ec.some((r) => r.a.ok === null)) f.unknown('tls.certificateKeys.ecdsa', why('not every curve got a verdict'))
  else
    f.set(
      'tls.certificateKeys.ecdsa',
      ec.filter((r) => r.a.ok).map((r) => curveOf(r.k)),
      'probe',
      ec.flatMap((r) => r.a.attempts),
      `tried ${EC_KEYS.map(curveOf).join(', ')}`,
    )
  if (![...results.values()].some((m) => [...m.values()].some((r) => !r.ok)))
    f.unknown('errors.key-unsupported', why('the module accepted every key type tried'))
  if (split.length)
    f.notes.push(
      `Key types accepted at some positions only (the profile keeps those accepted everywhere): ${split.join('; ')}.`,
    )
  f.facts.keys = Object.fromEntries(
    [...results.entries()].map(([pos, m]) => [pos, Object.fromEntries([...m.entries()].map(([k, r]) => [k, r.ok]))]),
  )
}

/** A key type the module refuses (for the extra-certificate probe), preferring a large RSA key. */
export function refusedKey(results: KeyResults): KeySpec | null {
  const at = results.get('intermediate')
  if (!at) return null
  for (const k of ['rsa-4096', 'ec-p521', 'rsa-3072', 'ec-p384', 'rsa-1024', 'ec-p256'] as KeySpec[])
    if (at.get(k)?.ok === false) return k
  return null
}
