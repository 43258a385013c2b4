import type { Clock } from '../../core/clock.js'
import { outcome } from '../../core/errors.js'
import { jsonSafe, termSafe } from '../../core/sanitize.js'
import { probeJob, type ProbeJobOptions } from '../../jobs/probe.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'

/** `tlsmatrix probe`'s options, one field per flag (see cli/run.ts). */
export interface ProbeOptions {
  device: string
  ca?: string
  target?: string
  resolve: string[]
  connectTo: string[]
  profiles: string[]
  json: boolean
}

/**
 * `tlsmatrix probe`: one module, by hand (src/jobs/probe.ts), printing the module's own lines.
 * The first thing to run on a real module (/dev/ttyUSB0) before a survey. Exit 1 when the GET failed.
 */
export async function probeCommand(opts: ProbeOptions, io: Io, clock: Clock): Promise<void> {
  const { json, ...probe } = opts
  const r = await probeJob(forwardAll<ProbeJobOptions>()(probe), io, clock, (note) => io.stderr.write(`${note}\n`))
  const { attempt, identity: id } = r
  if (json)
    io.stdout.write(
      `${jsonSafe(JSON.stringify({ device: r.device, ...id, profile: r.profile, warning: r.warning, caSki: r.caSki, attempt }, null, 2))}\n`,
    )
  else {
    io.stdout.write(
      `${termSafe(r.device)}: ${id.module} firmware ${id.firmware ?? '?'} build ${id.build ?? '?'} (profile ${r.profile})\n`,
    )
    if (r.warning) io.stdout.write(`warning: ${r.warning}\n`)
    if (attempt && r.target) {
      // ESP-AT answers an upload with OK only: "(none)" would read as a failed key id read-back.
      if (r.caReportsKeyId) io.stdout.write(`CA uploaded, module says SubjectKeyId ${r.caSki ?? '(none)'}\n`)
      else io.stdout.write('CA uploaded (this firmware reports no key id)\n')
      io.stdout.write(
        `GET https://${termSafe(r.target.host)}:${r.target.port}${termSafe(r.target.path)}: ${attempt.outcome}${attempt.class ? ` (${attempt.class})` : ''}, HTTP ${attempt.httpStatus ?? '-'}, ${attempt.durationMs} ms\n`,
      )
      for (const l of attempt.lines) io.stdout.write(`  ${termSafe(l)}\n`)
      if (attempt.deviceError) io.stdout.write(`  link: ${termSafe(attempt.deviceError)}\n`)
    }
  }
  if (attempt?.outcome === 'fail') throw outcome('FINDINGS')
}
