import { resolve as resolvePath } from 'node:path'
import { CertCache, DEFAULT_AIA, loadTrustStore, Resolver } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { parseAddressMap } from '../hosts/index.js'
// Not the pipeline's index: resolve must not load the survey (serialport, the emulator) at start-up.
import { resolveBatch, type BatchObserver, type BatchResult } from '../pipeline/resolve-batch.js'
import { checkWritable, ObservationStore, openDb } from '../store/index.js'
import { readHelloFile } from './hello-file.js'
import { readHostsFile } from './hosts-file.js'
import type { JobIo } from './io.js'

export interface ResolveJobOptions {
  hosts: string
  db: string
  trustStore: string[]
  trustStoreOnly: boolean
  concurrency: number
  timeoutMs: number
  resolve: string[]
  connectTo: string[]
  aiaAllowPrivate: boolean
  aia: boolean
  hello?: string | undefined
  sni: boolean
}

export interface ResolveWatch {
  /** The first Ctrl-C: no new targets; connections in flight are abandoned. */
  onStopping(): void
  observer?: BatchObserver
}

export interface ResolveJobResult extends BatchResult {
  /** How many targets the hosts file lists. */
  targets: number
  dbPath: string
}

/**
 * The resolve job: every target's chain captured and recorded in the database, with no device.
 * Bad input (hosts, --resolve, --hello, trust store) is refused before anything is contacted.
 */
export async function resolveJob(
  opts: ResolveJobOptions,
  io: JobIo,
  clock: Clock,
  watch: ResolveWatch,
): Promise<ResolveJobResult> {
  const { targets } = await readHostsFile(opts.hosts, io.cwd)
  const resolveMap = parseAddressMap({ resolve: opts.resolve, connectTo: opts.connectTo })
  const hello = await readHelloFile(opts.hello, opts.sni, io.cwd)
  const cache = new CertCache()
  const store = await loadTrustStore(
    { files: opts.trustStore.map((f) => resolvePath(io.cwd, f)), only: opts.trustStoreOnly },
    cache,
  )
  const dbPath = resolvePath(io.cwd, opts.db)
  checkWritable(dbPath)
  const db = openDb(dbPath)
  try {
    const observations = new ObservationStore(db, dbPath)
    // Ctrl-C: nothing new starts and the connections in flight are closed (no device depends on
    // them); what was recorded stays recorded.
    const stop = new AbortController()
    void io.interrupted.then(() => {
      if (stop.signal.aborted) return
      watch.onStopping()
      stop.abort()
    })
    io.onInsist?.(() => 3)
    const resolver = new Resolver({
      store,
      cache,
      hello,
      timeoutMs: opts.timeoutMs,
      resolveMap,
      clock,
      signal: stop.signal,
      aia: opts.aia
        ? {
            ...DEFAULT_AIA,
            timeoutMs: Math.min(DEFAULT_AIA.timeoutMs, opts.timeoutMs),
            allowPrivate: opts.aiaAllowPrivate,
          }
        : null,
    })
    const result = await resolveBatch(targets, resolver, {
      concurrency: opts.concurrency,
      record: (o) => observations.record(o, hello),
      ...(watch.observer ? { observer: watch.observer } : {}),
      clock,
      signal: stop.signal,
    })
    stop.abort() // the batch is over: release the Ctrl-C listener's work
    return { ...result, targets: targets.length, dbPath }
  } finally {
    db.close()
  }
}
