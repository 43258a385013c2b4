import { AppError } from '../core/errors.js'
import { ATTEMPT_SELECT, type AttemptRow } from './attempts.js'
import type { Db } from './db.js'
import { RunStore, storedAttempt, type LearnRun } from './runs.js'

/**
 * The final attempts of a learn run by probe id (what --resume replays instead of asking the
 * device again; a probe's id is its attempt's target), and its run row. A probe with several
 * final attempts (one per anchor) keeps the last recorded. Throws USAGE when the id is unknown or
 * names a survey.
 */
export function learnRunState(db: Db, runId: string): { run: LearnRun; probes: Map<string, AttemptRow> } {
  const run = new RunStore(db, db.name).getRun(runId)
  if (!run) throw new AppError('USAGE', `no run ${runId} in ${db.name}: nothing to resume`)
  if (run.kind !== 'learn')
    throw new AppError('USAGE', `run ${runId} is a survey, not a learn run; use tlsmatrix run --resume ${runId}`)
  const rows = db
    .prepare(`SELECT ${ATTEMPT_SELECT} FROM attempts WHERE run_id = ? AND final = 1 ORDER BY id`)
    .raw(true)
    .all(runId) as unknown[][]
  const probes = new Map<string, AttemptRow>()
  for (const r of rows) {
    const a = storedAttempt(db.name, r)
    probes.set(a.target, a)
  }
  return { run, probes }
}
