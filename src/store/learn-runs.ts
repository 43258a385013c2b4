import { AppError } from '../core/errors.js'
import type { NotRun } from '../plan/index.js'
import type { Db } from './db.js'
import type { CaUpload } from '../device/index.js'
import { RunStore, storedJson, type RunRow } from './runs.js'
import { JSON_COLUMNS } from './schemas.js'

/** A probe of a learn run as it was recorded (attempts.target is the probe id). */
export interface LearnProbeRow {
  id: number
  probe: string
  try: number
  final: boolean
  outcome: 'pass' | 'fail' | 'not-run'
  class: string | null
  lines: string[]
  httpStatus: number | null
  durationMs: number
  upload: CaUpload | null
  note: string | null
  reason: NotRun | null
}

interface Raw {
  id: number
  probe: string
  try: number
  final: number
  outcome: LearnProbeRow['outcome']
  class: string | null
  lines: string
  httpStatus: number | null
  durationMs: number
  upload: string | null
  note: string | null
  reason: string | null
  reasonDetail: string | null
}

/**
 * The final attempts of a learn run by probe id (what --resume replays instead of asking the
 * device again), and its run row. A probe with several final attempts (one per anchor) keeps
 * the last recorded. Throws USAGE when the id is unknown or names a survey.
 */
export function learnRunState(db: Db, runId: string): { run: RunRow; probes: Map<string, LearnProbeRow> } {
  const run = new RunStore(db, db.name).getRun(runId)
  if (!run) throw new AppError('USAGE', `no run ${runId} in ${db.name}: nothing to resume`)
  if (run.kind !== 'learn')
    throw new AppError('USAGE', `run ${runId} is a survey, not a learn run; use tlsmatrix run --resume ${runId}`)
  const rows = db
    .prepare(
      `SELECT id, target AS probe, try, final, outcome, class, lines, http_status AS httpStatus, duration_ms AS durationMs, ca_upload AS upload,
    note, reason, reason_detail AS reasonDetail FROM attempts WHERE run_id = ? AND final = 1 ORDER BY id`,
    )
    .all(runId) as Raw[]
  const probes = new Map<string, LearnProbeRow>()
  for (const r of rows) {
    probes.set(r.probe, {
      id: r.id,
      probe: r.probe,
      try: r.try,
      final: r.final === 1,
      outcome: r.outcome,
      class: r.class,
      lines: storedJson(db.name, 'attempts', `attempt ${r.id}`, 'lines', JSON_COLUMNS.attempts.lines, r.lines) ?? [],
      httpStatus: r.httpStatus,
      durationMs: r.durationMs,
      upload: storedJson(
        db.name,
        'attempts',
        `attempt ${r.id}`,
        'ca_upload',
        JSON_COLUMNS.attempts.ca_upload,
        r.upload,
      ),
      note: r.note,
      reason: r.reason ? { reason: r.reason as NotRun['reason'], detail: r.reasonDetail ?? '' } : null,
    })
  }
  return { run, probes }
}
