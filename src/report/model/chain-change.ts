import { storedCertificate } from '../../chain/index.js'
import { displayName } from '../../chain/display-name.js'
import type { HistoryStore } from '../../store/index.js'
import type { ChainChangeItem, ChainCertRole } from './types.js'

/** What the description needs of one certificate. */
export interface ChainCertFacts {
  subject: string
  /** Readable name (display form of the subject). */
  name: string
  /** Key type and size, e.g. `RSA-2048`, `ECDSA P-256`. */
  key: string
  /** SHA-256 of the SubjectPublicKeyInfo; null when the certificate could not be read. */
  spki: string | null
  selfSigned: boolean
}

/** One side of a chain change: the certificates the server sent, and the anchors the resolution found. */
export interface ChainSide {
  served: readonly string[]
  anchors: readonly string[]
}

const ROLE_ORDER: Record<ChainCertRole, number> = { leaf: 0, intermediate: 1, root: 2 }

/**
 * A chain change in words: certificates paired by subject between the two sides, so that a chain
 * re-issued under the same names reads "re-issued (new keys, same names)" rather than the same
 * names under added and removed; a new key and a re-certified key (same key, new certificate) are
 * told apart by the public key; a certificate with no counterpart is a new (or dropped) leaf,
 * intermediate or root. `facts` returns null for a certificate the database does not hold.
 */
export function describeChainChange(
  before: ChainSide,
  after: ChainSide,
  facts: (sha: string) => ChainCertFacts | null,
): { summary: string; brief: string; changes: ChainChangeItem[] } {
  const roleOf = (sha: string, side: ChainSide): ChainCertRole => {
    const i = side.served.indexOf(sha)
    if (i === 0) return 'leaf'
    // An anchor the server does not send is the root the chain ends at, self-signed or not.
    if (i < 0 || facts(sha)?.selfSigned) return 'root'
    return 'intermediate'
  }
  const certsOf = (side: ChainSide) => [...new Set([...side.served, ...side.anchors])]
  const beforeCerts = certsOf(before)
  const afterCerts = certsOf(after)
  const removed = beforeCerts.filter((s) => !afterCerts.includes(s))
  const added = afterCerts.filter((s) => !beforeCerts.includes(s))
  const named = (sha: string) => facts(sha) ?? { subject: null, name: sha.slice(0, 16), key: '?', spki: null }
  const items: ChainChangeItem[] = []
  // Each change again without certificate names (for summary.txt, which names no server text).
  const briefs = new Map<ChainChangeItem, string>()
  const push = (item: ChainChangeItem, brief: string) => {
    items.push(item)
    briefs.set(item, brief)
  }

  // Pairs: the same subject in the same role on both sides, the same key preferred.
  const unpaired = new Set(added)
  for (const r of removed) {
    const old = named(r)
    const role = roleOf(r, before)
    const candidates = [...unpaired].filter((a) => old.subject !== null && named(a).subject === old.subject)
    const sameRole = candidates.filter((a) => roleOf(a, after) === role)
    const pool = sameRole.length ? sameRole : candidates
    const match = pool.find((a) => old.spki !== null && named(a).spki === old.spki) ?? pool[0]
    if (!match) continue
    unpaired.delete(match)
    const now = named(match)
    const kind = old.spki === null || now.spki === null ? 'same-name' : old.spki === now.spki ? 'same-key' : 'new-key'
    const newRole = roleOf(match, after)
    const keyText = old.key === now.key ? now.key : `${old.key} → ${now.key}`
    push(
      {
        kind,
        role: newRole,
        name: now.name,
        before: r,
        after: match,
        text:
          kind === 'new-key'
            ? `${newRole} ${now.name} re-issued with a new key (${keyText})`
            : kind === 'same-key'
              ? `${newRole} ${now.name} re-certified: same key (${now.key}), new certificate`
              : `${newRole} ${now.name} re-issued under the same name`,
      },
      kind === 'new-key'
        ? `${newRole} re-issued with a new key (${keyText})`
        : kind === 'same-key'
          ? `${newRole} re-certified: same key (${now.key}), new certificate`
          : `${newRole} re-issued under the same name`,
    )
  }
  // One certificate of a role gone and one of that role new, under another name: a replacement.
  for (const role of ['leaf', 'intermediate', 'root'] as const) {
    const paired = new Set(items.map((i) => i.before))
    const gone = removed.filter((r) => !paired.has(r) && roleOf(r, before) === role)
    const come = [...unpaired].filter((a) => roleOf(a, after) === role)
    if (gone.length !== 1 || come.length !== 1) continue
    const was = named(gone[0]!)
    const now = named(come[0]!)
    unpaired.delete(come[0]!)
    push(
      {
        kind: 'replaced',
        role,
        name: now.name,
        before: gone[0]!,
        after: come[0]!,
        text: `new ${role} ${now.name} (${now.key}) in place of ${was.name} (${was.key})`,
      },
      `new ${role} (${now.key}) under another name in place of the old one (${was.key})`,
    )
  }
  const paired = new Set(items.map((i) => i.before))
  for (const r of removed) {
    if (paired.has(r)) continue
    const c = named(r)
    const role = roleOf(r, before)
    const anchorGone = role === 'root' && !before.served.includes(r)
    push(
      {
        kind: 'removed',
        role,
        name: c.name,
        before: r,
        after: null,
        text: anchorGone
          ? `root ${c.name} (${c.key}) no longer anchors the chain`
          : `${role} ${c.name} (${c.key}) no longer served`,
      },
      anchorGone ? `the root (${c.key}) no longer anchors the chain` : `${role} (${c.key}) no longer served`,
    )
  }
  for (const a of unpaired) {
    const c = named(a)
    const role = roleOf(a, after)
    push(
      { kind: 'added', role, name: c.name, before: null, after: a, text: `new ${role} ${c.name} (${c.key})` },
      `new ${role} (${c.key})`,
    )
  }
  // The same certificates on both sides: what the server sends changed (order, repeats, a root sent or not).
  for (const s of afterCerts) {
    if (!beforeCerts.includes(s)) continue
    const was = before.served.includes(s)
    const is = after.served.includes(s)
    if (was === is) continue
    const c = named(s)
    const role = roleOf(s, after)
    push(
      {
        kind: is ? 'now-served' : 'no-longer-served',
        role,
        name: c.name,
        before: s,
        after: s,
        text: is
          ? `${role} ${c.name} now sent by the server too`
          : `${role} ${c.name} no longer sent (still the anchor)`,
      },
      is ? `${role} now sent by the server too` : `${role} no longer sent (still the anchor)`,
    )
  }
  items.sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role])
  return {
    summary: summaryOf(items, (i) => i.text),
    brief: summaryOf(items, (i) => briefs.get(i)!),
    changes: items,
  }
}

function summaryOf(items: readonly ChainChangeItem[], text: (i: ChainChangeItem) => string): string {
  if (!items.length) return 'the same certificates, sent in another order'
  const count = (kind: ChainChangeItem['kind']) => items.filter((i) => i.kind === kind).length
  if (count('new-key') === items.length) return 're-issued (new keys, same names)'
  if (count('same-key') === items.length) return 're-certified (same keys, same names)'
  const renewed = count('new-key') + count('same-key') + count('same-name')
  if (renewed === items.length) {
    const parts = [
      count('new-key') ? `${count('new-key')} with a new key` : '',
      count('same-key') ? `${count('same-key')} with the same key` : '',
      count('same-name') ? `${count('same-name')} with a key not read` : '',
    ].filter(Boolean)
    return `re-issued (same names; ${parts.join(', ')})`
  }
  return items.map(text).join('; ')
}

/** The facts of a certificate as the history holds it (its public key read from the DER). */
export function historyCertFacts(history: HistoryStore): (sha: string) => ChainCertFacts | null {
  const cache = new Map<string, ChainCertFacts | null>()
  return (sha) => {
    let f = cache.get(sha)
    if (f !== undefined) return f
    const c = history.certificate(sha)
    const stored = c ? history.certificateForJudging(sha) : null
    let spki: string | null = null
    try {
      spki = stored ? storedCertificate(stored.der, stored.fields).spkiHash : null
    } catch {
      // A certificate that does not parse: its key is not compared.
    }
    f = c
      ? {
          subject: c.subject,
          name: displayName(c.subject, 80),
          key: keyText(c),
          spki,
          selfSigned: c.selfSigned,
        }
      : null
    cache.set(sha, f)
    return f
  }
}

/** A key in a few characters: `RSA-2048`, `ECDSA P-256`. */
export function keyText(c: { keyType: string; keyBits: number | null; keyCurve: string | null }): string {
  return c.keyType === 'ec' ? `ECDSA ${c.keyCurve ?? '?'}` : `${c.keyType.toUpperCase()}-${c.keyBits ?? '?'}`
}
