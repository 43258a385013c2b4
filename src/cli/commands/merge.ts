import { relative } from 'node:path'
import type { Clock } from '../../core/clock.js'
import { termSafe } from '../../core/sanitize.js'
import { mergeJob, type MergeJobOptions } from '../../jobs/merge.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'

/** `tlsmatrix merge`'s options, one field per flag (see cli/run.ts). */
export interface MergeOptions {
  into: string
  json: boolean
}

/**
 * `tlsmatrix merge SRC.db... --into HISTORY.db`: several rigs' databases into one history
 * (src/jobs/merge.ts); a refusal or a conflict leaves the history as it was (exit 2).
 */
export async function mergeCommand(
  sources: readonly string[],
  opts: MergeOptions,
  io: Io,
  _clock: Clock,
): Promise<void> {
  const { json, ...merge } = opts
  const r = await mergeJob(sources, forwardAll<MergeJobOptions>()(merge), io)
  if (json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
    return
  }
  for (const s of r.sources) {
    const name = relative(io.cwd, s.source) || s.source
    io.stdout.write(
      termSafe(
        `${name}: added ${s.runs} run(s)${s.updated ? `, brought ${s.updated} unfinished run(s) up to date` : ''}, ${s.attempts} attempt(s), ${s.observations} observation(s), ${s.certificates} certificate(s)`,
      ) + '\n',
    )
  }
  io.stdout.write(termSafe(`merged into ${relative(io.cwd, r.into) || r.into}`) + '\n')
}
