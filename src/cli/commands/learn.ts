import type { Clock } from '../../core/clock.js'
import { learnJob, type LearnJobOptions } from '../../jobs/learn.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { learnJson, learnText, writeLearnEvent } from '../output/learn-text.js'

/** `tlsmatrix learn`'s options, one field per flag (see cli/run.ts). */
export interface LearnOptions {
  device: string
  out?: string
  db: string
  resume?: string
  budgetMinutes?: number
  from?: string
  profiles: string[]
  labHost: string
  labListen: string
  json: boolean
}

/**
 * `tlsmatrix learn`: measures a firmware profile from the module (src/jobs/learn.ts), writes it,
 * and prints how it differs from the base; its progress and resume hints go to stderr.
 */
export async function learnCommand(opts: LearnOptions, io: Io, clock: Clock): Promise<void> {
  const { json, ...learn } = opts
  const { profile, base, out, end } = await learnJob(forwardAll<LearnJobOptions>()(learn), io, clock, (e) =>
    writeLearnEvent(e, io),
  )
  io.stdout.write(
    json ? `${JSON.stringify(learnJson(profile, base, out, end), null, 2)}\n` : learnText(profile, base, out, end),
  )
}
