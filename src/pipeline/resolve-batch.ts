import pLimit from 'p-limit'
import type { Observation, Resolver } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { messageOf } from '../core/errors.js'
import type { Target } from '../hosts/index.js'

export interface BatchObserver {
  onResult?(obs: Observation, done: number, total: number): void
}

export interface BatchOptions {
  concurrency: number
  /** Persists one observation; a failure here is reported and the batch goes on. */
  record?: (obs: Observation) => void
  observer?: BatchObserver
  clock: Clock
  /** Aborting stops new work and abandons the connections in flight (the resolver is given the same signal). */
  signal?: AbortSignal
  /** True once the user asked to stop: targets not yet started are left out of the result (in-flight ones finish). */
  stopping?: () => boolean
}

export interface BatchResult {
  observations: Observation[]
  /** Observations that could not be recorded, with why (they are still in `observations`). */
  unrecorded: Array<{ target: string; message: string }>
  /** True when the signal stopped the batch: `observations` then holds only what was recorded. */
  stopped: boolean
}

/**
 * Resolves every target with bounded concurrency. Results keep the hosts-file order; one target
 * failing, even with a bug of ours, never stops the others.
 */
export async function resolveBatch(
  targets: readonly Target[],
  resolver: Resolver,
  opts: BatchOptions,
): Promise<BatchResult> {
  const limit = pLimit(Math.max(1, opts.concurrency))
  const unrecorded: BatchResult['unrecorded'] = []
  const finished: Array<Observation | undefined> = []
  const stopped = () => (opts.signal?.aborted ?? false) || (opts.stopping?.() ?? false)
  let done = 0
  const all = Promise.all(
    targets.map((t, i) =>
      limit(async () => {
        if (stopped()) return
        let obs: Observation
        try {
          obs = await resolver.resolve(t)
        } catch (err) {
          obs = internalFailure(t, err, opts.clock)
        }
        // An abandoned connection's result is not an observation of the server.
        if (stopped()) return
        try {
          opts.record?.(obs)
        } catch (err) {
          unrecorded.push({ target: obs.target, message: messageOf(err) })
        }
        finished[i] = obs
        opts.observer?.onResult?.(obs, ++done, targets.length)
      }),
    ),
  )
  if (opts.signal) {
    const signal = opts.signal
    // Do not wait for connections in flight: no device depends on them, and the resolver closes them.
    await Promise.race([
      all,
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve()
        else signal.addEventListener('abort', () => resolve(), { once: true })
      }),
    ])
    limit.clearQueue()
  } else {
    await all
  }
  return {
    observations: finished.filter((o): o is Observation => o !== undefined),
    unrecorded: [...unrecorded],
    stopped: stopped(),
  }
}

function internalFailure(t: Target, err: unknown, clock: Clock): Observation {
  return {
    target: t.id,
    host: t.host,
    port: t.port,
    sni: t.sni,
    observedAt: clock.now().toISOString(),
    ip: null,
    protocol: null,
    cipher: null,
    capture: null,
    error: { code: 'internal', message: `tlsmatrix bug, please report: ${messageOf(err)}` },
    timings: { dnsMs: null, connectMs: null, handshakeMs: null, totalMs: 0 },
    served: [],
    chainHash: null,
    anchors: [],
    untrustedAnchors: [],
    aia: { fetched: [], errors: [] },
  }
}
