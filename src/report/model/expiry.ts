import type { Cell, CertSummary, Expiring } from './types.js'

const DAY_MS = 86_400_000

/** Roles in the order a reader names them: what the server sends, then what is uploaded. */
const ROLE_ORDER: ReadonlyArray<Expiring['role']> = ['intermediate', 'root', 'anchor']

/**
 * CA certificates in use that expire within `days` of `now`: the intermediates and roots the
 * servers send (each passing cell's chain after its leaf) and the anchors that worked, with the
 * targets and firmware that depend on them. Server (leaf) certificates are not listed: a server
 * renews its own. Each certificate once, with all its roles (an intermediate that is also the CA
 * uploaded for another target is one entry, not two). Soonest first. Pure.
 */
export function expiringCertificates(
  cells: readonly Cell[],
  cert: (sha: string) => CertSummary | undefined,
  now: Date,
  days: number,
): Expiring[] {
  const found = new Map<string, Expiring>()
  const note = (sha: string, role: Expiring['role'], cell: Cell) => {
    const c = cert(sha)
    if (!c) return
    const daysLeft = Math.floor((Date.parse(c.notAfter) - now.getTime()) / DAY_MS)
    if (daysLeft > days) return
    let e = found.get(sha)
    if (!e)
      found.set(
        sha,
        (e = {
          sha256: sha,
          subject: c.subject,
          notAfter: c.notAfter,
          daysLeft,
          role,
          roles: [],
          targets: [],
          firmware: [],
        }),
      )
    if (!e.roles.includes(role)) {
      e.roles.push(role)
      e.roles.sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b))
      e.role = e.roles[0]!
    }
    if (!e.targets.includes(cell.target)) e.targets.push(cell.target)
    if (!e.firmware.includes(cell.key)) e.firmware.push(cell.key)
  }
  for (const cell of cells) {
    if (cell.verdict !== 'pass') continue
    for (const sha of cell.evidence.chain.slice(1)) note(sha, cert(sha)?.selfSigned ? 'root' : 'intermediate', cell)
    for (const sha of cell.anchors.passed) note(sha, 'anchor', cell)
  }
  return [...found.values()].sort((a, b) => a.daysLeft - b.daysLeft || a.subject.localeCompare(b.subject))
}
