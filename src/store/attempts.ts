import type { CaUpload, TranscriptEntry } from '../device/index.js'
import { NOT_RUN_REASONS, type NotRun, type NotRunReason, type PlanItem } from '../plan/index.js'
import { FAILURE_CLASSES, type FailureClass } from '../profile/index.js'
import { JSON_COLUMNS, scalarCheck, type JsonColumn, type ProbeEvidence, type RowProblem } from './schemas.js'

export const OUTCOMES = ['pass', 'fail', 'not-run'] as const
export type Outcome = (typeof OUTCOMES)[number]

/** `attempts.anchor_sha256` of an attempt made with no CA uploaded. */
export const NO_ANCHOR = '-'

/**
 * One attempt as the store holds it: what `run` prints, what a report reads and what `learn
 * --resume` replays, one shape for all (its transcript is read apart: it is large).
 */
export interface AttemptRow {
  id: number
  runId: string
  device: string
  /** Null when the device was never identified. */
  module: string | null
  /** Null when the module's version is not known. */
  firmware: string | null
  profile: string | null
  target: string
  host: string
  port: number
  path: string
  /** The CA's sha256, or NO_ANCHOR. */
  anchor: string
  anchorSubject: string
  anchorSource: string
  try: number
  /** True for the verdict of (device, target, anchor); false for a try that was retried, or work left undone. */
  final: boolean
  outcome: Outcome
  class: FailureClass | null
  /** Why there is no verdict (not-run), or why a try was retried. */
  reason: NotRun | null
  /** The CA upload the attempt relied on (the command and the module's answer, its key id). */
  upload: CaUpload | null
  lines: string[]
  httpStatus: number | null
  bodyBytes: number
  durationMs: number
  expect: 'pass' | 'fail' | null
  observationId: number | null
  recordedAt: string
  /** Free text kept with the attempt (a must-reject target's borrowed CA: which and why; a learn probe: what it tried). */
  note: string | null
  /** A learn probe's evidence (the connections the probe lab saw); null for a survey's attempt. */
  probe: ProbeEvidence | null
}

/**
 * An attempt as the survey or learn writes it: its own fields as above, the target and CA from
 * the plan item it was made for, and its transcript.
 */
export type AttemptRecord = Omit<
  AttemptRow,
  | 'id'
  | 'target'
  | 'host'
  | 'port'
  | 'path'
  | 'anchor'
  | 'anchorSubject'
  | 'anchorSource'
  | 'expect'
  | 'observationId'
  | 'note'
  | 'probe'
> & {
  item: PlanItem
  transcript: TranscriptEntry[]
  note?: string | null
  probe?: ProbeEvidence | null
}

/** The columns the one row mapper reads, in its order. */
export const ATTEMPT_COLUMNS = [
  'id',
  'run_id',
  'device',
  'module',
  'firmware',
  'profile',
  'target',
  'host',
  'port',
  'path',
  'anchor_sha256',
  'anchor_subject',
  'anchor_source',
  'try',
  'final',
  'outcome',
  'class',
  'reason',
  'reason_detail',
  'ca_upload',
  'lines',
  'http_status',
  'body_bytes',
  'duration_ms',
  'expect',
  'observation_id',
  'recorded_at',
  'note',
  'probe',
] as const

/** `SELECT <ATTEMPT_SELECT> FROM attempts …` gives the raw rows `attemptFromRow` takes. */
export const ATTEMPT_SELECT = ATTEMPT_COLUMNS.join(', ')

const CHECK = scalarCheck('attempts', ATTEMPT_COLUMNS)

/** How a reader parses a JSON column (a report caches the texts it meets again and again). */
export type JsonReader = <T>(
  col: JsonColumn<T>,
  value: unknown,
) => { ok: true; value: T | null } | { ok: false; problem: string }

/** `v` when it is one of `list` (the scalar check has made sure of it), else null. */
function oneOf<T extends string>(list: readonly T[], v: unknown): T | null {
  return list.find((x) => x === v) ?? null
}

/**
 * The one row mapper: a raw row of ATTEMPT_COLUMNS (raw arrays: a report reads 200,000 of them)
 * to an attempt, every column checked (src/store/schemas.ts); the problem when one cannot be read.
 */
export function attemptFromRow(
  r: readonly unknown[],
  json: JsonReader,
): { ok: true; attempt: AttemptRow } | { ok: false; problem: RowProblem } {
  const bad = CHECK(r)
  if (bad) return { ok: false, problem: bad }
  const [
    id,
    runId,
    device,
    module,
    firmware,
    profile,
    target,
    host,
    port,
    path,
    anchor,
    anchorSubject,
    anchorSource,
    tryNo,
    final,
    outcome,
    cls,
    reason,
    reasonDetail,
    upload,
    lines,
    httpStatus,
    bodyBytes,
    durationMs,
    expect,
    observationId,
    recordedAt,
    note,
    probe,
  ] = r
  const up = json(JSON_COLUMNS.attempts.ca_upload, upload)
  if (!up.ok) return { ok: false, problem: { column: 'ca_upload', problem: up.problem } }
  const ls = json(JSON_COLUMNS.attempts.lines, lines)
  if (!ls.ok) return { ok: false, problem: { column: 'lines', problem: ls.problem } }
  const pr = json(JSON_COLUMNS.attempts.probe, probe)
  if (!pr.ok) return { ok: false, problem: { column: 'probe', problem: pr.problem } }
  const why: NotRunReason | null = oneOf(NOT_RUN_REASONS, reason)
  // The scalar check above has made sure of each column's type: what follows names them.
  return {
    ok: true,
    attempt: {
      id: id as number,
      runId: runId as string,
      device: device as string,
      module: module as string | null,
      firmware: firmware as string | null,
      profile: profile as string | null,
      target: target as string,
      host: host as string,
      port: port as number,
      path: path as string,
      anchor: anchor as string,
      anchorSubject: anchorSubject as string,
      anchorSource: anchorSource as string,
      try: tryNo as number,
      final: final === 1,
      outcome: oneOf(OUTCOMES, outcome) ?? 'not-run',
      class: oneOf(FAILURE_CLASSES, cls),
      reason: why ? { reason: why, detail: (reasonDetail as string | null) ?? '' } : null,
      upload: up.value,
      lines: ls.value ?? [],
      httpStatus: httpStatus as number | null,
      bodyBytes: bodyBytes as number,
      durationMs: durationMs as number,
      expect: oneOf(['pass', 'fail'] as const, expect),
      observationId: observationId as number | null,
      recordedAt: recordedAt as string,
      note: note as string | null,
      probe: pr.value,
    },
  }
}
