import type { Cell, CertSummary, Expiring } from './types.js'

const DAY_MS = 86_400_000

/**
 * Certificates in use that expire within `days` of `now`: the intermediates the servers send
 * (from each cell's chain) and the anchors that worked, with the targets and firmware that
 * depend on them. Soonest first. Pure.
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
    let e = found.get(`${sha}\u0000${role}`)
    if (!e)
      found.set(
        `${sha}\u0000${role}`,
        (e = { sha256: sha, subject: c.subject, notAfter: c.notAfter, daysLeft, role, targets: [], firmware: [] }),
      )
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
