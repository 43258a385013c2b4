import type { FirmwareProfile } from '../profile/index.js'
import type { DevicePlan } from '../plan/index.js'
import { ATTEMPT_SELECT, attemptFromRow, NO_ANCHOR, type AttemptRecord, type AttemptRow } from './attempts.js'
import { AppError } from '../core/errors.js'
import { storeError, type Db } from './db.js'
import type { z } from 'zod'
import {
  JSON_COLUMNS,
  readJsonColumn,
  RUN_STATUSES,
  scalarCheck,
  type JsonColumn,
  type RunDevice,
  type RunTarget,
} from './schemas.js'
import { LEARN_OPTIONS, SURVEY_OPTIONS, type LearnRunOptions, type SurveyRunOptions } from './run-options.js'

export type { RunDevice, RunTarget } from './schemas.js'
export type { AttemptRecord, AttemptRow } from './attempts.js'
export { NO_ANCHOR }

export type RunStatus = (typeof RUN_STATUSES)[number]

const RUN_COLUMNS = [
  'id',
  'label',
  'started_at',
  'ended_at',
  'status',
  'tool_version',
  'hosts_file',
  'hosts_hash',
  'trust_store_hash',
  'devices',
  'options',
  'plan',
  'profiles',
  'targets',
  'rig',
  'kind',
] as const
const RUN_SELECT = RUN_COLUMNS.join(', ')
const RUN_CHECK = scalarCheck('runs', RUN_COLUMNS)
/** runs.options read as the run's kind says (the column's own schema takes either). */
const column = <T>(schema: z.ZodType<T, unknown>): JsonColumn<T> => ({ ...JSON_COLUMNS.runs.options, schema })

/** A survey's attempts are verdicts a report reads; a learn run's are probes (`tlsmatrix learn`), kept as evidence only. */
export type RunKind = 'survey' | 'learn'

interface RunFields {
  id: string
  label: string | null
  startedAt: string
  endedAt: string | null
  status: RunStatus
  toolVersion: string
  hostsFile: string
  hostsHash: string
  trustStoreHash: string
  devices: RunDevice[]
  plan: DevicePlan[] | null
  /** Per device label, the firmware profile it was judged with: a report months later needs no data/ folder. */
  profiles?: Record<string, FirmwareProfile>
  /** The targets as the hosts file listed them: report rows keep this order, tags and expect=. */
  targets?: RunTarget[]
  /** The machine (test rig) the run was made on; runs from several rigs meet in one history (merge). */
  rig?: string | null
}

/** A survey, with the options it was started with: --resume runs the same survey. Absent kind: a survey. */
export interface SurveyRun extends RunFields {
  kind?: 'survey'
  options: SurveyRunOptions
}

/** A learn run (`tlsmatrix learn`), with what a resumed learn takes from it. */
export interface LearnRun extends RunFields {
  kind: 'learn'
  options: LearnRunOptions
}

export type RunRow = SurveyRun | LearnRun

/** Runs and device attempts; each attempt is written in its own transaction as soon as it ends. */
export class RunStore {
  constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {}

  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate()
    } catch (err) {
      throw storeError(err, this.path)
    }
  }

  createRun(run: RunRow): void {
    this.tx(() =>
      this.db
        .prepare(
          `INSERT INTO runs (id, label, started_at, ended_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, plan, profiles, targets, rig, kind)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          run.id,
          run.label,
          run.startedAt,
          run.endedAt,
          run.status,
          run.toolVersion,
          run.hostsFile,
          run.hostsHash,
          run.trustStoreHash,
          JSON.stringify(run.devices),
          JSON.stringify(run.options),
          run.plan ? JSON.stringify(run.plan) : null,
          run.profiles ? JSON.stringify(run.profiles) : null,
          run.targets ? JSON.stringify(run.targets) : null,
          run.rig ?? null,
          run.kind ?? 'survey',
        ),
    )
  }

  updateRun(id: string, fields: Partial<Pick<RunRow, 'status' | 'endedAt' | 'devices' | 'plan' | 'profiles'>>): void {
    this.tx(() => {
      if (fields.status !== undefined) this.db.prepare('UPDATE runs SET status = ? WHERE id = ?').run(fields.status, id)
      if (fields.endedAt !== undefined)
        this.db.prepare('UPDATE runs SET ended_at = ? WHERE id = ?').run(fields.endedAt, id)
      if (fields.devices !== undefined)
        this.db.prepare('UPDATE runs SET devices = ? WHERE id = ?').run(JSON.stringify(fields.devices), id)
      if (fields.plan !== undefined)
        this.db.prepare('UPDATE runs SET plan = ? WHERE id = ?').run(JSON.stringify(fields.plan), id)
      if (fields.profiles !== undefined)
        this.db.prepare('UPDATE runs SET profiles = ? WHERE id = ?').run(JSON.stringify(fields.profiles), id)
    })
  }

  getRun(id: string): RunRow | null {
    const raw = this.db.prepare(`SELECT ${RUN_SELECT} FROM runs WHERE id = ?`).raw(true).get(id) as
      unknown[] | undefined
    if (!raw) return null
    // Every column through its check (src/store/schemas.ts): what follows names the checked values.
    const bad = RUN_CHECK(raw)
    if (bad)
      throw new AppError('STORE_CORRUPT', `${this.path}: table runs, run ${id}, column ${bad.column} ${bad.problem}`)
    const r = Object.fromEntries(RUN_COLUMNS.map((c, i) => [c, raw[i]])) as Record<
      (typeof RUN_COLUMNS)[number],
      unknown
    >
    const json = <T>(column: keyof typeof JSON_COLUMNS.runs, col: JsonColumn<T>): T | null =>
      storedJson(this.path, 'runs', `run ${id}`, column, col, r[column])
    const profiles = json('profiles', JSON_COLUMNS.runs.profiles)
    const targets = json('targets', JSON_COLUMNS.runs.targets)
    const fields: RunFields = {
      id: r.id as string,
      label: r.label as string | null,
      startedAt: r.started_at as string,
      endedAt: r.ended_at as string | null,
      status: RUN_STATUSES.find((s) => s === r.status) ?? 'interrupted',
      toolVersion: r.tool_version as string,
      hostsFile: r.hosts_file as string,
      hostsHash: r.hosts_hash as string,
      trustStoreHash: r.trust_store_hash as string,
      devices: json('devices', JSON_COLUMNS.runs.devices) ?? [],
      plan: json('plan', JSON_COLUMNS.runs.plan),
      ...(profiles ? { profiles } : {}),
      ...(targets ? { targets } : {}),
      rig: r.rig as string | null,
    }
    // The options of the run's kind, through that kind's schema: --resume takes them as they are.
    return r.kind === 'learn'
      ? { ...fields, kind: 'learn', options: json('options', column(LEARN_OPTIONS))! }
      : { ...fields, kind: 'survey', options: json('options', column(SURVEY_OPTIONS)) ?? {} }
  }

  /** Writes one attempt; returns its id (a learn run cites the attempts that prove what it learned). */
  recordAttempt(a: AttemptRecord): number {
    return this.tx(() =>
      Number(
        this.db
          .prepare(
            `INSERT INTO attempts (run_id, device, module, firmware, profile, target, host, port, path, anchor_sha256, anchor_subject, anchor_source,
      try, final, outcome, class, reason, reason_detail, ca_upload, lines, http_status, body_bytes, duration_ms, expect, observation_id, transcript, recorded_at, note, probe)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            a.runId,
            a.device,
            a.module,
            a.firmware,
            a.profile,
            a.item.target,
            a.item.host,
            a.item.port,
            a.item.path,
            a.item.anchor?.sha256 ?? NO_ANCHOR,
            a.item.anchor?.subject ?? '',
            a.item.anchor?.source ?? '',
            a.try,
            a.final ? 1 : 0,
            a.outcome,
            a.class,
            a.reason?.reason ?? null,
            a.reason?.detail ?? null,
            a.upload ? JSON.stringify(a.upload) : null,
            JSON.stringify(a.lines),
            a.httpStatus,
            a.bodyBytes,
            Math.round(a.durationMs),
            a.item.expect,
            a.item.observationId,
            JSON.stringify(a.transcript),
            a.recordedAt,
            a.note ?? null,
            a.probe ? JSON.stringify(a.probe) : null,
          ).lastInsertRowid,
      ),
    )
  }

  /** Keys "device|target|anchor" that already have their verdict: resume skips them. */
  verdictKeys(runId: string): Set<string> {
    const rows = this.db
      .prepare('SELECT device, target, anchor_sha256 AS a FROM attempts WHERE run_id = ? AND final = 1')
      .all(runId) as Array<{ device: string; target: string; a: string }>
    return new Set(rows.map((r) => verdictKey(r.device, r.target, r.a)))
  }

  /** The highest try recorded for an item (0 when none), so a resumed retry numbers on. */
  lastTry(runId: string, device: string, target: string, anchor: string): number {
    const r = this.db
      .prepare(
        'SELECT max(try) AS t FROM attempts WHERE run_id = ? AND device = ? AND target = ? AND anchor_sha256 = ?',
      )
      .get(runId, device, target, anchor) as { t: number | null }
    return r.t ?? 0
  }

  /** Every attempt of a run, in the order recorded (retried tries too). */
  attempts(runId: string): AttemptRow[] {
    const rows = this.db
      .prepare(`SELECT ${ATTEMPT_SELECT} FROM attempts WHERE run_id = ? ORDER BY id`)
      .raw(true)
      .all(runId) as unknown[][]
    return rows.map((r) => storedAttempt(this.path, r))
  }

  certificateDer(sha256: string): Buffer | null {
    const r = this.db.prepare('SELECT der FROM certificates WHERE sha256 = ?').get(sha256) as
      { der: Buffer } | undefined
    return r?.der ?? null
  }
}

/**
 * A JSON column read back through its schema (src/store/schemas.ts). A value that is not what the
 * column holds is STORE_CORRUPT naming the row and the column: a resumed run or a learn run cannot
 * go on from a row it cannot read, and must not crash on one.
 */
export function storedJson<T>(
  path: string,
  table: string,
  row: string,
  column: string,
  col: JsonColumn<T>,
  value: unknown,
): T | null {
  const v = readJsonColumn(col, value)
  if (v.ok) return v.value
  throw new AppError('STORE_CORRUPT', `${path}: table ${table}, ${row}, column ${column} ${v.problem}`)
}

/** One attempt read back through the one row mapper; STORE_CORRUPT naming the row and column when it cannot be. */
export function storedAttempt(path: string, r: readonly unknown[]): AttemptRow {
  const a = attemptFromRow(r, readJsonColumn)
  if (a.ok) return a.attempt
  throw new AppError(
    'STORE_CORRUPT',
    `${path}: table attempts, attempt ${String(r[0])}, column ${a.problem.column} ${a.problem.problem}`,
  )
}

export function verdictKey(device: string, target: string, anchor: string): string {
  return `${device}|${target}|${anchor}`
}
