import { resolve as resolvePath } from 'node:path'
import { CertCache, DEFAULT_AIA, loadTrustStore, Resolver, type Observation } from '../../chain/index.js'
import type { Clock } from '../../core/clock.js'
import { outcome } from '../../core/errors.js'
import { jsonSafe } from '../../core/sanitize.js'
import { parseAddressMap } from '../../hosts/index.js'
import { readHelloFile } from '../input/hello-file.js'
import { readHostsFile } from '../../jobs/hosts-file.js'
import { resolveBatch } from '../../pipeline/resolve-batch.js'
import { ObservationStore, openDb } from '../../store/index.js'
import type { Io } from '../io.js'
import { observationJson } from '../output/resolve-json.js'
import { observationText, summaryText } from '../output/resolve-text.js'
import { resolveProgress } from '../progress.js'

export interface ResolveOptions {
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
  hello?: string
  sni: boolean
  json: boolean
}

export { DEFAULT_DB } from '../defaults.js'

/** `tlsmatrix resolve`: exit 0 all resolved, 1 some failed (all recorded), 2 usage or input. */
export async function resolveCommand(opts: ResolveOptions, io: Io, clock: Clock): Promise<Observation[]> {
  const { targets } = await readHostsFile(opts.hosts, io.cwd)
  const resolveMap = parseAddressMap({ resolve: opts.resolve, connectTo: opts.connectTo })
  const hello = await readHelloFile(opts.hello, opts.sni, io.cwd)
  const cache = new CertCache()
  const store = await loadTrustStore(
    { files: opts.trustStore.map((f) => resolvePath(io.cwd, f)), only: opts.trustStoreOnly },
    cache,
  )
  const dbPath = resolvePath(io.cwd, opts.db)
  const db = openDb(dbPath)
  try {
    const observations = new ObservationStore(db, dbPath)
    // Ctrl-C: nothing new starts and the connections in flight are closed (no device depends on
    // them); what was recorded stays recorded.
    const stop = new AbortController()
    void io.interrupted.then(() => {
      if (stop.signal.aborted) return
      io.stderr.write('\nstopping: no new targets; connections in flight are abandoned\n')
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
    const progress = resolveProgress(io)
    const result = await resolveBatch(targets, resolver, {
      concurrency: opts.concurrency,
      record: (o) => observations.record(o, hello),
      observer: progress,
      clock,
      signal: stop.signal,
    })
    progress.end()
    stop.abort() // the batch is over: release the Ctrl-C listener's work
    if (opts.json) io.stdout.write(`${jsonSafe(JSON.stringify(result.observations.map(observationJson), null, 2))}\n`)
    else {
      for (const o of result.observations) io.stdout.write(`${observationText(o)}\n\n`)
      io.stdout.write(`${summaryText(result.observations)}\nrecorded in ${dbPath}\n`)
    }
    for (const u of result.unrecorded) io.stderr.write(`not recorded: ${u.target}: ${u.message}\n`)
    const failed = result.observations.filter((o) => o.error).map((o) => o.target)
    if (result.stopped)
      throw outcome(
        'INTERRUPTED',
        `interrupted: ${result.observations.length - result.unrecorded.length} of ${targets.length} targets recorded in ${dbPath}`,
      )
    if (result.unrecorded.length > 0 || failed.length > 0) throw outcome('FINDINGS')
    return result.observations
  } finally {
    db.close()
  }
}
