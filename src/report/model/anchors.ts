import type { CertSummary } from './types.js'

/**
 * The order anchors are recommended in: a self-signed root before an intermediate (a product
 * keeps a root for years, an intermediate is re-issued), then the one valid longest, then by name.
 */
export function preferAnchors(shas: Iterable<string>, certs: (sha: string) => CertSummary | undefined): string[] {
  return [...new Set(shas)].sort((a, b) => {
    const x = certs(a)
    const y = certs(b)
    if (!x || !y) return x ? -1 : y ? 1 : a.localeCompare(b)
    if (x.selfSigned !== y.selfSigned) return x.selfSigned ? -1 : 1
    if (x.notAfter !== y.notAfter) return Date.parse(y.notAfter) - Date.parse(x.notAfter)
    return x.name.localeCompare(y.name) || a.localeCompare(b)
  })
}

export interface CoverResult {
  anchors: string[]
  exact: boolean
}

/** Subsets tried before an exact search gives way to the greedy one. */
const EXACT_BUDGET = 200_000

/**
 * The smallest set of anchors such that every target has one of its working anchors in it (a
 * hitting set). Exhaustive by increasing size while the number of subsets stays small, greedy
 * beyond (and then not necessarily the smallest: `exact` says which). Ties go to the preferred order.
 */
export function smallestCover(needs: ReadonlyArray<readonly string[]>, preferred: readonly string[]): CoverResult {
  const wants = needs.filter((n) => n.length > 0)
  if (wants.length === 0) return { anchors: [], exact: true }
  const candidates = preferred.filter((a) => wants.some((n) => n.includes(a)))
  // Distinct needs only: thousands of targets share a handful of anchor combinations.
  const distinct = [
    ...new Map(
      wants.map((n) => {
        const s = [...new Set(n)].sort()
        return [s.join(','), s] as const
      }),
    ).values(),
  ]
  const index = new Map(candidates.map((a, i) => [a, i]))
  const sets = distinct.map((n) => new Set(n.map((a) => index.get(a)!)))
  const covers = (pick: number[]) => sets.every((s) => pick.some((i) => s.has(i)))
  let tried = 0
  for (let k = 1; k <= candidates.length; k++) {
    if (combinations(candidates.length, k) + tried > EXACT_BUDGET) break
    const found = firstCombination(candidates.length, k, (pick) => {
      tried++
      return covers(pick)
    })
    if (found) return { anchors: found.map((i) => candidates[i]!), exact: true }
  }
  // Greedy: the anchor that serves most of the still-uncovered needs, preferred order on ties.
  const left = [...sets]
  const chosen: number[] = []
  while (left.length > 0) {
    let best = -1
    let bestCount = -1
    for (let i = 0; i < candidates.length; i++) {
      const c = left.filter((s) => s.has(i)).length
      if (c > bestCount) {
        best = i
        bestCount = c
      }
    }
    chosen.push(best)
    for (let j = left.length - 1; j >= 0; j--) if (left[j]!.has(best)) left.splice(j, 1)
  }
  return { anchors: chosen.map((i) => candidates[i]!), exact: false }
}

function combinations(n: number, k: number): number {
  let r = 1
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i
  return Math.round(r)
}

/** Visits k-subsets of 0..n-1 in lexicographic order (preferred anchors first); returns the first accepted. */
function firstCombination(n: number, k: number, accept: (pick: number[]) => boolean): number[] | null {
  const pick = Array.from({ length: k }, (_, i) => i)
  for (;;) {
    if (accept(pick)) return [...pick]
    let i = k - 1
    while (i >= 0 && pick[i] === n - k + i) i--
    if (i < 0) return null
    pick[i]!++
    for (let j = i + 1; j < k; j++) pick[j] = pick[j - 1]! + 1
  }
}
