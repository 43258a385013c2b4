import { toPem, type Anchor, type Observation } from '../chain/index.js'
import type { FirmwareProfile } from '../device/index.js'
import type { Target } from '../hosts/index.js'

export type AnchorMode = 'all' | 'first'

export interface PlannedAnchor {
  sha256: string
  subject: string
  source: Anchor['source']
  kind: Anchor['kind']
  /** Bytes the upload puts in the module's store (DER for SPWF04, PEM for SPWF01). */
  uploadBytes: number
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
  skip: null | { note: string }
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

export function uploadSize(anchor: Anchor, profile: FirmwareProfile): number {
  return profile.dialect === 'spwf01' ? Buffer.byteLength(toPem(anchor.cert.der)) : anchor.cert.der.length
}

/** The work of one device. Pure: observations and profile in, ordered work out. */
export function planDevice(device: string, profile: FirmwareProfile, targets: readonly Target[], observations: ReadonlyMap<string, TargetObservations>, mode: AnchorMode): DevicePlan {
  const groups = new Map<string, { anchor: PlannedAnchor; items: PlanItem[] }>()
  const skipped: PlanItem[] = []
  for (const t of targets) {
    const o = observations.get(t.id)
    const source = o && o.device.obs.served.length > 0 ? o.device : o?.broad
    const base = { target: t.id, host: t.host, port: t.port, path: t.path, expect: t.expect, observationId: source?.id ?? null }
    let candidates = source ? candidatesFor(source.obs.anchors, profile) : []
    if (mode === 'first') candidates = candidates.slice(0, 1)
    if (candidates.length === 0) {
      const why = !source || source.obs.error ? `no chain (${source?.obs.error?.code ?? 'not resolved'})` : 'no candidate anchor in the trust store'
      skipped.push({ ...base, anchor: null, skip: { note: `no-anchor: ${why}` } })
      continue
    }
    for (const a of candidates) {
      const anchor: PlannedAnchor = { sha256: a.cert.info.sha256, subject: a.cert.info.subject, source: a.source, kind: a.kind, uploadBytes: uploadSize(a, profile) }
      if (anchor.uploadBytes > profile.store.maxCaBytes) {
        skipped.push({ ...base, anchor, skip: { note: `ca-too-large: ${anchor.uploadBytes} bytes, the store takes ${profile.store.maxCaBytes}` } })
        continue
      }
      const g = groups.get(anchor.sha256) ?? { anchor, items: [] }
      g.items.push({ ...base, anchor, skip: null })
      groups.set(anchor.sha256, g)
    }
  }
  return { device, groups: [...groups.values()], skipped }
}
