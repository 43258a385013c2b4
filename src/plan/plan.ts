import { issuedBy, type Anchor, type AnchorSource, type Observation, type ParsedCert } from '../chain/index.js'
import { displayName } from '../chain/display-name.js'
import type { FirmwareProfile } from '../profile/index.js'
import type { Target } from '../hosts/index.js'
import type { AnchorChoice } from './anchor-choice.js'

/**
 * Where the anchor came from; `-untrusted` when no trust store vouches for it and the user asked
 * for it anyway (`--anchors include-untrusted`): the evidence must say so.
 */
export type PlannedSource = AnchorSource | `${AnchorSource}-untrusted`

export interface PlannedAnchor {
  sha256: string
  subject: string
  source: PlannedSource
  kind: Anchor['kind']
  /** Bytes the upload puts in the module's store (DER for SPWF04, PEM for SPWF01). */
  uploadBytes: number
}

/** Why a (device, target, anchor) has no verdict: a typed code, and the details for people. */
export interface NotRun {
  reason: NotRunReason
  detail: string
}

export const NOT_RUN_REASONS = [
  /** No CA certificate a module could be given for the target. */
  'no-anchor',
  /** A CA that would satisfy the module but is in no trust store (e.g. the server's own root): never uploaded unless asked for. */
  'untrusted-anchor',
  /** The anchor does not fit the module's CA store. */
  'ca-too-large',
  /** The module refused to store the anchor. */
  'ca-refused',
  /** The module gave no complete, well-formed answer, twice (timeouts, damaged lines, reboots). */
  'link',
  /** The module answered, well-formed, with lines its profile does not know, twice. */
  'unrecognized',
  /** The device was lost before this work was done. */
  'device-lost',
  /** The target could not be resolved (the detail is the cause: timeout, not-tls, reset, refused…). */
  'unresolved',
  /** The run's device-time budget was spent before this attempt (a planned end, not a fault). */
  'budget',
  /** The driver refused the target's fields before sending anything (e.g. an ESP-AT host over 64 characters). */
  'target-refused',
  /** The run was stopped (Ctrl-C) while the request was in flight and it had not ended after the grace: --resume runs it again. */
  'interrupted',
] as const
export type NotRunReason = (typeof NOT_RUN_REASONS)[number]

/** A plan stored before reasons were typed had `{ note: "code: detail" }`. */
export function skipReason(skip: NotRun | { note: string }): NotRun {
  if ('reason' in skip) return skip
  const code = skip.note.split(':', 1)[0]!.trim()
  return {
    reason: (NOT_RUN_REASONS as readonly string[]).includes(code) ? (code as NotRunReason) : 'no-anchor',
    detail: skip.note.slice(code.length + 1).trim(),
  }
}

export interface PlanItem {
  target: string
  host: string
  port: number
  path: string
  expect: Target['expect']
  /** The observation (chain) the anchors were taken from. */
  observationId: number | null
  anchor: PlannedAnchor | null
  /** Set when the item is a finding that is not sent to the device. */
  skip: null | NotRun
  /**
   * A must-reject target with no CA of its own, sent with a CA borrowed so its rejection is
   * observed: which CA and why it was chosen, in words (kept with its attempts as their note).
   */
  borrowed?: string
}

export interface DevicePlan {
  device: string
  /** Work grouped by anchor, in upload order: each anchor is uploaded once. */
  groups: Array<{ anchor: PlannedAnchor; items: PlanItem[] }>
  /** Findings recorded without device time: no anchor, CA too large for the store. */
  skipped: PlanItem[]
}

export interface TargetObservations {
  /** Resolution with the device's own ClientHello: the chain the module will receive. */
  device: { obs: Observation; id: number | null }
  /** Resolution with the broad hello, for anchors when the device's hello was refused. */
  broad: { obs: Observation; id: number | null }
}

/**
 * Which anchors a device must try for a target, preferred first (`--anchors first` takes the
 * first). For SPWF04-style modules (ski-aki) the CAs whose SKI matches an AKI in the chain the
 * module receives (roots, cross-signs and intermediates). For path-building modules every CA a
 * path can end at: the trust anchors of the verified paths and every store-chained CA on them,
 * intermediates included, because such a module anchors its path at whatever CA it holds — a
 * server that omits its intermediate (fetched through AIA) is reached only with the
 * intermediate uploaded. `served` (fingerprints of the chain the module receives) says which CAs
 * the module can reach over the served certificates alone: those come first.
 */
export function candidatesFor<A extends CandidateLike>(
  anchors: readonly A[],
  profile: FirmwareProfile,
  served: readonly string[] | null = null,
): A[] {
  const byMatch = (m: 'path' | 'ski-aki') => anchors.filter((a) => a.match.includes(m))
  if (profile.tls.anchorMatch === 'ski-aki') {
    const primary = byMatch('ski-aki')
    const list = primary.length > 0 ? primary : byMatch('path')
    // Roots ending a verified path first: the anchor a vendor would ship.
    return [...list].sort((a, b) => rank(a) - rank(b))
  }
  if (served === null) return byMatch('path').sort((a, b) => rank(a) - rank(b))
  const sent = new Set(served)
  // A CA whose verified path from the leaf runs over served certificates only: the module can build it.
  const reachable = (a: A) => a.paths.some((p) => p.length >= 2 && p.slice(1, -1).every((fp) => sent.has(fp)))
  const list = anchors.filter((a) => a.match.includes('path') || reachable(a))
  // Reachable first (the one most likely to pass), then roots before intermediates, then the shortest path.
  return list.sort((a, b) => Number(reachable(b)) - Number(reachable(a)) || rank(a) - rank(b))
}

/** What candidatesFor reads of an anchor: a resolution's Anchor, or one as an observation stored it (the report's). */
export type CandidateLike = Pick<Anchor, 'kind' | 'paths' | 'match'>

function rank(a: CandidateLike): number {
  const onPath = a.match.includes('path') ? 0 : 2
  const shortest = Math.min(...a.paths.map((p) => p.length), 99)
  return onPath * 100 + (a.kind === 'root' ? 0 : 50) + shortest
}

/** The module a plan is made for: its profile, and the bytes a CA takes in its store as its family uploads it. */
export interface PlanModule {
  profile: FirmwareProfile
  /** Bytes a CA of this DER takes in the store (DER on the SPWF04SA, PEM on the SPWF01SA and ESP-AT). */
  caBytes(der: Uint8Array): number
}

function planned(a: Anchor, m: PlanModule, untrusted: boolean): PlannedAnchor {
  return {
    sha256: a.cert.info.sha256,
    subject: a.cert.info.subject,
    source: untrusted ? `${a.source}-untrusted` : a.source,
    kind: a.kind,
    uploadBytes: m.caBytes(a.cert.der),
  }
}

function isUntrusted(a: PlannedAnchor): boolean {
  return a.source.endsWith('-untrusted')
}

/** The finding, in words: "served root not in any trust store". */
export function untrustedDetail(a: Anchor): string {
  const from = a.source === 'aia' ? 'AIA-fetched' : 'served'
  const what =
    a.kind === 'root' ? `${from} root not in any trust store` : `${from} intermediate chaining to no trust-store root`
  return `${what} (uploaded only with --anchors include-untrusted)`
}

/** The trust store as the planner borrows from it (a TrustStore): for a must-reject target no other target lends a CA to. */
export interface SpareCas {
  /** Store certificates whose subject is the name a certificate gives as its issuer (signatures unchecked). */
  issuersOf(cert: ParsedCert): readonly ParsedCert[]
  certificates(): Iterable<ParsedCert>
}

/**
 * The work of one device. Pure: observations and profile in, ordered work out. A must-reject
 * target (expect=fail) with a chain but no candidate is still sent, so its rejection is observed
 * rather than assumed: with the (trusted) anchor the plan uses most, already loaded for other
 * targets; alone, with a CA of the trust store (`spare`, see borrowFromStore). Each such item
 * says which CA and why. A CA no trust store vouches for is a finding (`untrusted-anchor`), tried
 * only when the choice includes untrusted anchors.
 */
export function planDevice(
  device: string,
  m: PlanModule,
  targets: readonly Target[],
  observations: ReadonlyMap<string, TargetObservations>,
  choice: AnchorChoice,
  spare: SpareCas | null = null,
): DevicePlan {
  const profile = m.profile
  const groups = new Map<string, { anchor: PlannedAnchor; items: PlanItem[] }>()
  const skipped: PlanItem[] = []
  const mustReject: Array<{ item: PlanItem; served: readonly ParsedCert[] }> = []
  for (const t of targets) {
    const o = observations.get(t.id)
    const source = o && o.device.obs.served.length > 0 ? o.device : o?.broad
    const base = {
      target: t.id,
      host: t.host,
      port: t.port,
      path: t.path,
      expect: t.expect,
      observationId: source?.id ?? null,
    }
    const served = source ? source.obs.served.map((c) => c.info.sha256) : null
    const trusted = source ? candidatesFor(source.obs.anchors, profile, served) : []
    const untrusted = source ? candidatesFor(source.obs.untrustedAnchors, profile, served) : []
    // Trusted ones first: with --anchors first,include-untrusted an untrusted CA is tried only
    // when nothing a store vouches for would do.
    let candidates = choice.includeUntrusted ? [...trusted, ...untrusted] : trusted
    if (choice.mode === 'first') candidates = candidates.slice(0, 1)
    if (!choice.includeUntrusted) {
      // A finding on the chain itself, whatever else happens to the target.
      for (const a of untrusted)
        skipped.push({
          ...base,
          anchor: planned(a, m, false),
          skip: { reason: 'untrusted-anchor', detail: untrustedDetail(a) },
        })
    }
    if (candidates.length === 0) {
      if (!source || source.obs.served.length === 0) {
        // No chain at all: the cause (timeout, not-tls, reset, refused…) is what the user needs.
        skipped.push({
          ...base,
          anchor: null,
          skip: { reason: 'unresolved', detail: source?.obs.error?.code ?? 'not resolved' },
        })
      } else if (t.expect === 'fail') {
        mustReject.push({ item: { ...base, anchor: null, skip: null }, served: source.obs.served })
      } else if (source.obs.error?.code === 'path-search-limit') {
        // A search cut short found no anchor; that is not "there is none".
        skipped.push({ ...base, anchor: null, skip: { reason: 'unresolved', detail: 'path-search-limit' } })
      } else {
        skipped.push({
          ...base,
          anchor: null,
          skip: { reason: 'no-anchor', detail: 'no candidate anchor in the trust store' },
        })
      }
      continue
    }
    for (const a of candidates) {
      const anchor = planned(a, m, !trusted.includes(a))
      if (anchor.uploadBytes > profile.store.maxCaBytes) {
        skipped.push({
          ...base,
          anchor,
          skip: {
            reason: 'ca-too-large',
            detail: `${anchor.uploadBytes} bytes, the store takes ${profile.store.maxCaBytes}`,
          },
        })
        continue
      }
      const g = groups.get(anchor.sha256) ?? { anchor, items: [] }
      g.items.push({ ...base, anchor, skip: null })
      groups.set(anchor.sha256, g)
    }
  }
  // Borrowed for a must-reject target: a trusted anchor when there is one, the user's trust is what is tested.
  const most = [...groups.values()].sort(
    (a, b) => Number(isUntrusted(a.anchor)) - Number(isUntrusted(b.anchor)) || b.items.length - a.items.length,
  )[0]
  for (const { item, served } of mustReject) {
    if (most) {
      most.items.push({
        ...item,
        anchor: most.anchor,
        borrowed: `no CA of its own (its chain reaches no CA a trust store holds): tried with "${displayName(most.anchor.subject, 80)}", the CA this plan uses for the most other targets (loaded already), so the module's own rejection is observed`,
      })
      continue
    }
    const lent = [...groups.values()].filter((g) => g.items.some((i) => i.borrowed))
    const b = spare ? borrowFromStore(served, m, spare, lent[0]?.anchor ?? null) : null
    if (!b) {
      skipped.push({
        ...item,
        skip: {
          reason: 'no-anchor',
          detail: spare
            ? 'no candidate anchor, no other target gave one to try, and no trust-store CA fits the module'
            : 'no candidate anchor, and no other target gave one to try',
        },
      })
      continue
    }
    const g = groups.get(b.anchor.sha256) ?? { anchor: b.anchor, items: [] }
    g.items.push({ ...item, anchor: b.anchor, borrowed: b.why })
    groups.set(b.anchor.sha256, g)
  }
  return { device, groups: [...groups.values()], skipped }
}

/** Whether the module takes this certificate's key (its profile's certificateKeys). */
function keyAccepted(c: ParsedCert, profile: FirmwareProfile): boolean {
  const k = c.info.key
  const limits = profile.tls.certificateKeys
  if (k.type === 'rsa') return k.bits !== null && k.bits >= limits.rsa.minBits && k.bits <= limits.rsa.maxBits
  if (k.type === 'ec') return k.curve !== null && limits.ecdsa.includes(k.curve)
  return false
}

/**
 * A trust-store CA for a must-reject target tried alone (the rejection is what is tested), and
 * why it was chosen. First a look-alike: a store CA named as the issuer of a served certificate
 * that did not sign it (the module must check the signature to refuse it); else the CA already
 * lent to another lone must-reject target (no second upload); else the smallest store CA the
 * module can store whose key it takes. Never the target's own certificates. Deterministic: ties
 * go to the fingerprint.
 */
export function borrowFromStore(
  served: readonly ParsedCert[],
  m: PlanModule,
  store: SpareCas,
  lent: PlannedAnchor | null,
): { anchor: PlannedAnchor; why: string } | null {
  const profile = m.profile
  const own = new Set(served.map((c) => c.info.sha256))
  const usable = (c: ParsedCert) =>
    !own.has(c.info.sha256) &&
    (c.info.isCA || c.info.selfSigned) &&
    keyAccepted(c, profile) &&
    m.caBytes(c.der) <= profile.store.maxCaBytes
  const toPlanned = (c: ParsedCert): PlannedAnchor =>
    planned(
      { cert: c, source: 'store', kind: c.info.selfSigned ? 'root' : 'intermediate', paths: [], match: [] },
      m,
      false,
    )
  const name = (c: ParsedCert | PlannedAnchor) => displayName('info' in c ? c.info.subject : c.subject, 80)
  for (const child of served) {
    const alike = store
      .issuersOf(child)
      .filter((c) => usable(c) && !issuedBy(child, c))
      .sort((a, b) => a.info.sha256.localeCompare(b.info.sha256))[0]
    if (alike)
      return {
        anchor: toPlanned(alike),
        why: `no CA of its own: tried with the trust-store CA "${name(alike)}", whose name is the issuer "${displayName(child.info.issuer, 80)}" that the server's certificate gives but whose key did not sign it, so the module must check the signature to refuse it`,
      }
  }
  if (lent)
    return {
      anchor: lent,
      why: `no CA of its own, and no trust-store CA is related to its chain: tried with "${name(lent)}", the trust-store CA already lent to another must-reject target, so the module's own rejection is observed`,
    }
  let best: ParsedCert | null = null
  let bestBytes = Infinity
  for (const c of store.certificates()) {
    if (!usable(c)) continue
    const n = m.caBytes(c.der)
    if (n < bestBytes || (n === bestBytes && best !== null && c.info.sha256 < best.info.sha256)) {
      best = c
      bestBytes = n
    }
  }
  if (!best) return null
  return {
    anchor: toPlanned(best),
    why: `no CA of its own, and no trust-store CA is related to its chain: tried with "${name(best)}", the smallest trust-store CA the module can store (${bestBytes} bytes), so the module's own rejection is observed`,
  }
}
