import { displayName } from '../../chain/display-name.js'

/** What a sentence about a changed chain needs of each certificate. */
export interface ChainCert {
  subject: string
  issuer: string
  key: string
  selfSigned: boolean
}

/**
 * How the chain a server sends changed between two observations, in a few words: which
 * intermediate, root or leaf is new and whether only its key changed ("new intermediate Report
 * Issuing CA 4096 (RSA-4096) in place of Report Issuing CA 2048 (RSA-2048)"; "leaf re-keyed
 * (RSA-2048 → ECDSA P-256)"). `served` lists are sha256, leaf first, as sent; `anchors` the
 * candidate roots each resolution found (a new root the server does not send shows there). Pure.
 */
export function chainChangeText(
  before: { served: readonly string[]; anchors: readonly string[] },
  after: { served: readonly string[]; anchors: readonly string[] },
  cert: (sha: string) => ChainCert | null,
): string {
  const parts: string[] = []
  const name = (sha: string) => {
    const c = cert(sha)
    return c ? displayName(c.subject, 60) : `${sha.slice(0, 12)}…`
  }
  const named = (sha: string) => {
    const c = cert(sha)
    return c ? `${displayName(c.subject, 60)} (${c.key})` : `${sha.slice(0, 12)}…`
  }
  // One certificate against another in the same role: the same name is a re-key or a re-issue.
  const replaced = (role: string, was: string, now: string) => {
    const a = cert(was)
    const b = cert(now)
    if (a && b && a.subject === b.subject)
      parts.push(
        a.key === b.key ? `${role} ${name(now)} re-issued` : `${role} ${name(now)} re-keyed (${a.key} → ${b.key})`,
      )
    else parts.push(`new ${role} ${named(now)} in place of ${named(was)}`)
  }
  const [leafBefore, ...restBefore] = before.served
  const [leafAfter, ...restAfter] = after.served
  const isRoot = (sha: string) => cert(sha)?.selfSigned === true
  const ints = (list: readonly string[]) => list.filter((s) => !isRoot(s))
  const intsBefore = ints(restBefore)
  const intsAfter = ints(restAfter)
  const addedInts = intsAfter.filter((s) => !intsBefore.includes(s))
  const removedInts = intsBefore.filter((s) => !intsAfter.includes(s))
  for (let i = 0; i < Math.max(addedInts.length, removedInts.length); i++) {
    const now = addedInts[i]
    const was = removedInts[i]
    if (now && was) replaced('intermediate', was, now)
    else if (now) parts.push(`intermediate ${named(now)} added`)
    else if (was) parts.push(`intermediate ${named(was)} no longer sent`)
  }
  // Candidate anchors include intermediates (they may be uploaded too): a root is self-signed.
  const rootsBefore = [...new Set([...restBefore, ...before.anchors].filter(isRoot))]
  const rootsAfter = [...new Set([...restAfter, ...after.anchors].filter(isRoot))]
  const newRoots = rootsAfter.filter((s) => !rootsBefore.includes(s))
  const oldRoots = rootsBefore.filter((s) => !rootsAfter.includes(s))
  if (newRoots.length && oldRoots.length && newRoots.length === 1 && oldRoots.length === 1)
    replaced('root', oldRoots[0]!, newRoots[0]!)
  else if (newRoots.length) parts.push(`new root ${newRoots.map(named).join(', ')}`)
  else if (oldRoots.length && rootsAfter.length) parts.push(`root ${oldRoots.map(named).join(', ')} no longer used`)
  if (leafBefore && leafAfter && leafBefore !== leafAfter) {
    const a = cert(leafBefore)
    const b = cert(leafAfter)
    if (a && b && a.key !== b.key) parts.push(`leaf re-keyed (${a.key} → ${b.key})`)
    else if (a && b && a.subject !== b.subject) parts.push(`new leaf ${named(leafAfter)}`)
    else parts.push(parts.length ? 'new leaf' : 'leaf re-issued (same name and key type)')
  }
  if (!parts.length) parts.push('the certificates sent are the same, in another order')
  return parts.join('; ')
}
