import { createHash } from 'node:crypto'
import type { Target } from '../hosts/index.js'
import type { DevicePlan } from '../plan/index.js'
import type { StoredTarget } from '../store/index.js'

export function hostsHash(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * What changed in a hosts file since a run began, in words, or null when its content is the
 * same. The run keeps the file's hash and its plan (targets with path and expect), so the
 * targets added, removed or changed can be named; comments and spacing only change the hash.
 */
export function hostsChange(
  was: { hash: string; plan: DevicePlan[] | null; targets?: readonly StoredTarget[] | null },
  now: { text: string; targets: readonly Target[] },
): string | null {
  const hash = hostsHash(now.text)
  if (hash === was.hash) return null
  // The plan lists the run's targets; before it exists, the list stored when the run was created does.
  const before = new Map<string, string>()
  if (was.plan) for (const t of planTargets(was.plan)) before.set(t.target, describe(t))
  else if (was.targets) for (const t of was.targets) before.set(t.id, describe(t))
  else
    return `its content changed (sha256 ${was.hash.slice(0, 12)}… then, ${hash.slice(0, 12)}… now); the run had not planned its targets yet`
  const after = new Map(now.targets.map((t) => [t.id, describe(t)]))
  const added = [...after.keys()].filter((k) => !before.has(k))
  const removed = [...before.keys()].filter((k) => !after.has(k))
  const changed = [...after.keys()]
    .filter((k) => before.has(k) && before.get(k) !== after.get(k))
    .map((k) => `${k} (${before.get(k)} → ${after.get(k)})`)
  const parts = [
    added.length ? `added ${list(added)}` : '',
    removed.length ? `removed ${list(removed)}` : '',
    changed.length ? `changed ${list(changed)}` : '',
  ].filter(Boolean)
  return parts.length ? parts.join('; ') : 'its text changed (comments, order or spacing), not its targets'
}

function describe(t: { path: string; expect: string | null }): string {
  return `path=${t.path}${t.expect ? ` expect=${t.expect}` : ''}`
}

function list(items: string[]): string {
  return items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`
}

/** A target as a run keeps it from its start (run options `targets`), to name later changes. */
export type { StoredTarget }

export function storedTargets(targets: readonly Target[]): StoredTarget[] {
  return targets.map((t) => ({ id: t.id, path: t.path, expect: t.expect }))
}

/** Every item of a plan, planned or skipped, in plan order (targets repeat across devices). */
export function planTargets(
  plan: readonly DevicePlan[],
): Array<{ target: string; path: string; expect: string | null }> {
  return plan.flatMap((p) => [...p.skipped, ...p.groups.flatMap((g) => g.items)])
}

/**
 * The run's own targets, in hosts-file order, for its report: those its plan holds (a target
 * added to the file since is not part of the run). Without a plan, the current file's.
 */
export function runTargetOrder(plan: readonly DevicePlan[] | null, now: readonly Target[]): string[] {
  if (!plan) return now.map((t) => t.id)
  const mine = new Set(planTargets(plan).map((t) => t.target))
  const inFile = now.map((t) => t.id).filter((id) => mine.has(id))
  return [...inFile, ...[...mine].filter((id) => !inFile.includes(id))]
}
