import type { CaUpload } from '../device/index.js'
import type { FirmwareProfile } from '../profile/index.js'
import type { DevicePlan, NotRun, PlanItem } from '../plan/index.js'
import { AppError } from '../core/errors.js'
import { storeError, type Db } from './db.js'
import { JSON_COLUMNS, readJsonColumn, type JsonColumn, type RunDevice, type RunTarget } from './schemas.js'

export type { RunDevice, RunTarget } from './schemas.js'

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'device-lost'

/** A survey's attempts are verdicts a report reads; a learn run's are probes (`tlsmatrix learn`), kept as evidence only. */
export type RunKind = 'survey' | 'learn'

export interface RunRow {
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
  /** The command-line options, so --resume can run the same survey. */
  options: Record<string, unknown>
  plan: DevicePlan[] | null
  /** Per device label, the firmware profile it was judged with: a report months later needs no data/ folder. */
  profiles?: Record<string, FirmwareProfile>
  /** The targets as the hosts file listed them: report rows keep this order, tags and expect=. */
  targets?: RunTarget[]
  /** The machine (test rig) the run was made on; runs from several rigs meet in one history (merge). */
  rig?: string | null
  /** Absent: a survey. */
  kind?: RunKind
}

export interface AttemptRecord {
  runId: string
  device: string
  module: string | null
  firmware: string | null
  profile: string | null
  item: PlanItem
  try: number
  /** True for the verdict of (device, target, anchor); false for a try that was retried, or work left undone. */
  final: boolean
  outcome: 'pass' | 'fail' | 'not-run'
  class: string | null
  /** Why there is no verdict (not-run), or why a try was retried. */
  reason: NotRun | null
  /** The CA upload the attempt relied on (the command and the module's answer, its key id). */
  upload: CaUpload | null
  lines: string[]
  httpStatus: number | null
  bodyBytes: number
  durationMs: number
  transcript: unknown[]
  recordedAt: string
  /** A short free-text description (a learn probe says what it tried); absent: none. */
  note?: string | null
}

export interface AttemptRow {
  id: number
  device: string
  module: string | null
  firmware: string | null
  profile: string | null
  target: string
  host: string
  port: number
  path: string
  anchorSha256: string
  anchorSubject: string
  anchorSource: string
  try: number
  final: boolean
  outcome: 'pass' | 'fail' | 'not-run'
  class: string | null
  reason: NotRun | null
  upload: CaUpload | null
  lines: string[]
  httpStatus: number | null
  bodyBytes: number
  durationMs: number
  expect: string | null
  observationId: number | null
  recordedAt: string
  /** Free text kept with the attempt (a must-reject target's borrowed CA: which and why). */
  note?: string | null
}

export const NO_ANCHOR = '-'

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
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Record<string, string | null> | undefined
    if (!r) return null
    const json = <T>(column: keyof typeof JSON_COLUMNS.runs, col: JsonColumn<T>): T | null =>
      storedJson(this.path, 'runs', `run ${id}`, column, col, r[column])
    const profiles = json('profiles', JSON_COLUMNS.runs.profiles)
    const targets = json('targets', JSON_COLUMNS.runs.targets)
    return {
      id: r.id!,
      label: r.label ?? null,
      startedAt: r.started_at!,
      endedAt: r.ended_at ?? null,
      status: r.status as RunStatus,
      toolVersion: r.tool_version!,
      hostsFile: r.hosts_file!,
      hostsHash: r.hosts_hash!,
      trustStoreHash: r.trust_store_hash!,
      devices: json('devices', JSON_COLUMNS.runs.devices) ?? [],
      options: json('options', JSON_COLUMNS.runs.options) ?? {},
      plan: json('plan', JSON_COLUMNS.runs.plan),
      ...(profiles ? { profiles } : {}),
      ...(targets ? { targets } : {}),
      rig: r.rig ?? null,
      kind: r.kind === 'learn' ? 'learn' : 'survey',
    }
  }

  /** Writes one attempt; returns its id (a learn run cites the attempts that prove what it learned). */
  recordAttempt(a: AttemptRecord): number {
    return this.tx(() =>
      Number(
        this.db
          .prepare(
            `INSERT INTO attempts (run_id, device, module, firmware, profile, target, host, port, path, anchor_sha256, anchor_subject, anchor_source,
      try, final, outcome, class, reason, reason_detail, ca_upload, lines, http_status, body_bytes, duration_ms, expect, observation_id, transcript, recorded_at, note)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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

  attempts(runId: string): AttemptRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, device, module, firmware, profile, target, host, port, path, anchor_sha256 AS anchorSha256, anchor_subject AS anchorSubject,
      anchor_source AS anchorSource, try, final, outcome, class, reason, reason_detail AS reasonDetail, ca_upload AS caUpload, lines, http_status AS httpStatus,
      body_bytes AS bodyBytes, duration_ms AS durationMs, expect, observation_id AS observationId, recorded_at AS recordedAt, note FROM attempts WHERE run_id = ? ORDER BY id`,
      )
      .all(runId) as Array<
      Omit<AttemptRow, 'lines' | 'final' | 'reason' | 'upload'> & {
        lines: string
        final: number
        reason: string | null
        reasonDetail: string | null
        caUpload: string | null
      }
    >
    return rows.map(({ reason, reasonDetail, caUpload, ...r }) => ({
      ...r,
      final: r.final === 1,
      reason: reason ? { reason: reason as NotRun['reason'], detail: reasonDetail ?? '' } : null,
      upload: storedJson(
        this.path,
        'attempts',
        `attempt ${r.id}`,
        'ca_upload',
        JSON_COLUMNS.attempts.ca_upload,
        caUpload,
      ),
      lines: storedJson(this.path, 'attempts', `attempt ${r.id}`, 'lines', JSON_COLUMNS.attempts.lines, r.lines) ?? [],
    }))
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

export function verdictKey(device: string, target: string, anchor: string): string {
  return `${device}|${target}|${anchor}`
}
