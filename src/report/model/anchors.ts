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

/** What a firmware's CA store can hold at once (its profile's `store`). */
export interface StoreCapacity {
  slots: number
  /** One slot takes a PEM bundle of several CAs (`store.caBundle`). */
  bundle: boolean
  /** Bytes one slot takes, as uploaded. */
  maxBytes: number
}

/**
 * Whether these CAs can be in the store at once: at most `slots` CAs; with bundles, packed into
 * `slots` slots of `maxBytes` (first fit, largest first: exact for one slot, and never claims a
 * set fits that does not).
 */
export function fitsStore(set: readonly string[], cap: StoreCapacity, bytesOf: (sha: string) => number): boolean {
  if (!cap.bundle) return set.length <= cap.slots && set.every((s) => bytesOf(s) <= cap.maxBytes)
  const bins: number[] = []
  for (const n of set.map(bytesOf).sort((a, b) => b - a)) {
    const i = bins.findIndex((b) => b + n <= cap.maxBytes)
    if (i >= 0) bins[i]! += n
    else if (bins.length < cap.slots && n <= cap.maxBytes) bins.push(n)
    else return false
  }
  return true
}

export interface ProvisionResult extends CoverResult {
  /** Indexes (into `needs`) of the needs the set does not meet: those targets need another provisioning. */
  unmet: number[]
}

/**
 * The CAs to provision: the smallest set that serves every need (smallestCover) when the store
 * holds it; otherwise the set the store can hold that serves the most needs (fewest CAs, then the
 * preferred order, on ties) and the needs left out. A store of one slot without bundles gets the
 * one CA that serves most. Exhaustive while the number of subsets stays small, greedy beyond.
 */
export function provisionCover(
  needs: ReadonlyArray<readonly string[]>,
  preferred: readonly string[],
  cap: StoreCapacity | null,
  bytesOf: (sha: string) => number,
): ProvisionResult {
  const unmetBy = (set: readonly string[]) =>
    needs.flatMap((n, i) => (n.length > 0 && !n.some((a) => set.includes(a)) ? [i] : []))
  const full = smallestCover(needs, preferred)
  if (!cap || fitsStore(full.anchors, cap, bytesOf)) return { ...full, unmet: unmetBy(full.anchors) }
  const candidates = preferred.filter((a) => needs.some((n) => n.includes(a)) && fitsStore([a], cap, bytesOf))
  const served = candidates.map((a) => new Set(needs.flatMap((n, i) => (n.includes(a) ? [i] : []))))
  const count = (pick: readonly number[]) => {
    const met = new Set<number>()
    for (const i of pick) for (const n of served[i]!) met.add(n)
    return met.size
  }
  const maxK = cap.bundle ? candidates.length : Math.min(cap.slots, candidates.length)
  let best: number[] = []
  let bestCount = 0
  let tried = 0
  let exact = true
  for (let k = 1; k <= maxK; k++) {
    if (combinations(candidates.length, k) + tried > EXACT_BUDGET) {
      exact = false
      break
    }
    // Lexicographic order visits the preferred CAs first: the first best found wins ties.
    firstCombination(candidates.length, k, (pick) => {
      tried++
      const c = count(pick)
      if (
        c > bestCount &&
        fitsStore(
          pick.map((i) => candidates[i]!),
          cap,
          bytesOf,
        )
      ) {
        best = [...pick]
        bestCount = c
      }
      return false
    })
  }
  if (!exact) {
    // Greedy: the CA serving most of the needs still unmet that keeps the set storable.
    const chosen: number[] = [...best]
    for (;;) {
      let add = -1
      let gain = 0
      for (let i = 0; i < candidates.length; i++) {
        if (chosen.includes(i)) continue
        const g = count([...chosen, i]) - count(chosen)
        if (
          g > gain &&
          fitsStore(
            [...chosen, i].map((j) => candidates[j]!),
            cap,
            bytesOf,
          )
        ) {
          add = i
          gain = g
        }
      }
      if (add < 0) break
      chosen.push(add)
    }
    if (count(chosen) > bestCount) best = chosen
  }
  const anchors = best.map((i) => candidates[i]!)
  return { anchors, exact, unmet: unmetBy(anchors) }
}
