import { type Anchor, type AnchorSource, type Observation } from '../chain/index.js'
import { familyOf, type FirmwareProfile } from '../device/index.js'
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
 * Which anchors a device must try for a target: for SPWF04-style modules (ski-aki) the CAs whose
 * SKI matches an AKI in the chain the module receives (roots, cross-signs and intermediates),
 * for path-building modules the trust anchors of the verified paths. Shortest path first.
 */
export function candidatesFor(anchors: readonly Anchor[], profile: FirmwareProfile): Anchor[] {
  const byMatch = (m: 'path' | 'ski-aki') => anchors.filter((a) => a.match.includes(m))
  const primary = profile.tls.anchorMatch === 'ski-aki' ? byMatch('ski-aki') : byMatch('path')
  const list = primary.length > 0 ? primary : byMatch('path')
  // Roots ending a verified path first: the anchor a vendor would ship.
  return [...list].sort((a, b) => rank(a) - rank(b))
}

function rank(a: Anchor): number {
  const onPath = a.match.includes('path') ? 0 : 2
  const shortest = Math.min(...a.paths.map((p) => p.length), 99)
  return onPath * 100 + (a.kind === 'root' ? 0 : 50) + shortest
}

function planned(a: Anchor, profile: FirmwareProfile, untrusted: boolean): PlannedAnchor {
  return {
    sha256: a.cert.info.sha256,
    subject: a.cert.info.subject,
    source: untrusted ? `${a.source}-untrusted` : a.source,
    kind: a.kind,
    uploadBytes: uploadSize(a, profile),
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

export function uploadSize(anchor: Anchor, profile: FirmwareProfile): number {
  return caUploadBytes(anchor.cert.der, profile)
}

/** Bytes a CA takes in the module's store, as its family uploads it (DER for SPWF04, PEM for SPWF01). */
export function caUploadBytes(der: Buffer, profile: Pick<FirmwareProfile, 'dialect'>): number {
  return familyOf(profile.dialect).caUploadBytes(der)
}

/**
 * The work of one device. Pure: observations and profile in, ordered work out. A must-reject
 * target (expect=fail) with a chain but no candidate is still sent, with the anchor the plan uses
 * most, so its rejection is observed rather than assumed. A CA no trust store vouches for is a
 * finding (`untrusted-anchor`), tried only when the choice includes untrusted anchors.
 */
export function planDevice(
  device: string,
  profile: FirmwareProfile,
  targets: readonly Target[],
  observations: ReadonlyMap<string, TargetObservations>,
  choice: AnchorChoice,
): DevicePlan {
  const groups = new Map<string, { anchor: PlannedAnchor; items: PlanItem[] }>()
  const skipped: PlanItem[] = []
  const mustReject: PlanItem[] = []
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
    const trusted = source ? candidatesFor(source.obs.anchors, profile) : []
    const untrusted = source ? candidatesFor(source.obs.untrustedAnchors, profile) : []
    // Trusted ones first: with --anchors first,include-untrusted an untrusted CA is tried only
    // when nothing a store vouches for would do.
    let candidates = choice.includeUntrusted ? [...trusted, ...untrusted] : trusted
    if (choice.mode === 'first') candidates = candidates.slice(0, 1)
    if (!choice.includeUntrusted) {
      // A finding on the chain itself, whatever else happens to the target.
      for (const a of untrusted)
        skipped.push({
          ...base,
          anchor: planned(a, profile, false),
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
        mustReject.push({ ...base, anchor: null, skip: null })
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
      const anchor = planned(a, profile, !trusted.includes(a))
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
  for (const item of mustReject) {
    if (most) most.items.push({ ...item, anchor: most.anchor })
    else
      skipped.push({
        ...item,
        skip: { reason: 'no-anchor', detail: 'no candidate anchor, and no other target gave one to try' },
      })
  }
  return { device, groups: [...groups.values()], skipped }
}
