import type { Clock } from '../../core/clock.js'
import { outcome } from '../../core/errors.js'
import { jsonSafe } from '../../core/sanitize.js'
import { resolveJob, type ResolveJobOptions } from '../../jobs/resolve.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { observationJson } from '../output/resolve-json.js'
import { observationText, summaryText } from '../output/resolve-text.js'
import { resolveProgress } from '../progress.js'

/** `tlsmatrix resolve`'s options, one field per flag (see cli/run.ts). */
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

/** `tlsmatrix resolve` (src/jobs/resolve.ts): exit 0 all resolved, 1 some failed (all recorded), 2 usage or input, 3 interrupted. */
export async function resolveCommand(opts: ResolveOptions, io: Io, clock: Clock): Promise<void> {
  const { json, ...resolve } = opts
  const progress = resolveProgress(io)
  const result = await resolveJob(forwardAll<ResolveJobOptions>()(resolve), io, clock, {
    onStopping: () => io.stderr.write('\nstopping: no new targets; connections in flight are abandoned\n'),
    observer: progress,
  })
  progress.end()
  if (json) io.stdout.write(`${jsonSafe(JSON.stringify(result.observations.map(observationJson), null, 2))}\n`)
  else {
    for (const o of result.observations) io.stdout.write(`${observationText(o)}\n\n`)
    io.stdout.write(`${summaryText(result.observations)}\nrecorded in ${result.dbPath}\n`)
  }
  for (const u of result.unrecorded) io.stderr.write(`not recorded: ${u.target}: ${u.message}\n`)
  const failed = result.observations.filter((o) => o.error).map((o) => o.target)
  if (result.stopped)
    throw outcome(
      'INTERRUPTED',
      `interrupted: ${result.observations.length - result.unrecorded.length} of ${result.targets} targets recorded in ${result.dbPath}`,
    )
  if (result.unrecorded.length > 0 || failed.length > 0) throw outcome('FINDINGS')
}
