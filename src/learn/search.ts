/** One step of a size search: whether the module took it, and the size it really had. */
export interface SizeProbe {
  ok: boolean | null
  /** The measured size (certificates cannot always be grown to the exact byte). */
  size: number
}

export interface SizeSearch {
  /** The largest size that passed. */
  largest: number
  /** The smallest size that failed; null when the top of the range passed (no limit found). */
  smallestFailing: number | null
  /** A probe gave no verdict: the search stopped there. */
  incomplete: boolean
}

/**
 * Binary search for the largest size the module takes, given that `lo` passes: the top of the
 * range first (most firmware has no limit there), then halves until the measured gap is at most
 * `resolution` bytes (`loSize`: what `lo` measures, when sizes are counted otherwise than targets). Each step is a device request, so the number of steps is the cost.
 */
export async function searchLargest(
  lo: number,
  hi: number,
  resolution: number,
  probe: (target: number) => Promise<SizeProbe>,
  loSize = lo,
): Promise<SizeSearch> {
  const top = await probe(hi)
  if (top.ok === null) return { largest: loSize, smallestFailing: null, incomplete: true }
  if (top.ok) return { largest: top.size, smallestFailing: null, incomplete: false }
  let okAt = lo
  let okSize = loSize
  let failAt = hi
  let failSize = top.size
  for (let steps = 0; failSize - okSize > resolution && failAt - okAt > 1 && steps < 24; steps++) {
    const mid = Math.floor((okAt + failAt) / 2)
    const r = await probe(mid)
    if (r.ok === null) return { largest: okSize, smallestFailing: failSize, incomplete: true }
    if (r.ok) {
      okAt = mid
      okSize = Math.max(okSize, r.size)
    } else {
      failAt = mid
      failSize = Math.min(failSize, r.size)
    }
  }
  return { largest: okSize, smallestFailing: failSize, incomplete: false }
}
