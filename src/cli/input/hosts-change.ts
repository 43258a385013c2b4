import { createHash } from 'node:crypto'
import type { Target } from '../../hosts/index.js'
import type { DevicePlan } from '../../plan/index.js'

export function hostsHash(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * What changed in a hosts file since a run began, in words, or null when its content is the
 * same. The run keeps the file's hash and its plan (targets with path and expect), so the
 * targets added, removed or changed can be named; comments and spacing only change the hash.
 */
export function hostsChange(was: { hash: string; plan: DevicePlan[] | null }, now: { text: string; targets: readonly Target[] }): string | null {
  const hash = hostsHash(now.text)
  if (hash === was.hash) return null
  if (!was.plan) return `its content changed (sha256 ${was.hash.slice(0, 12)}… then, ${hash.slice(0, 12)}… now); the run had not planned its targets yet`
  const before = new Map<string, string>()
  for (const p of was.plan) for (const item of [...p.skipped, ...p.groups.flatMap((g) => g.items)]) before.set(item.target, describe(item))
  const after = new Map(now.targets.map((t) => [t.id, describe(t)]))
  const added = [...after.keys()].filter((k) => !before.has(k))
  const removed = [...before.keys()].filter((k) => !after.has(k))
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).map((k) => `${k} (${before.get(k)} → ${after.get(k)})`)
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
