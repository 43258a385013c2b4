import type { FirmwareProfile } from '../device/index.js'
import type { TranscriptEntry } from '../device/index.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './db.js'
import type { RunDevice, RunTarget, UploadEvidence } from './runs.js'

/** A run as a report reads it. */
export interface HistoryRun {
  id: string
  label: string | null
  startedAt: string
  endedAt: string | null
  status: string
  devices: RunDevice[]
  profiles: Record<string, FirmwareProfile> | null
  targets: RunTarget[] | null
}

/** A final attempt without its transcript (200,000 of them are read in one pass). */
export interface HistoryAttempt {
  id: number
  runId: string
  device: string
  module: string
  firmware: string
  profile: string | null
  target: string
  host: string
  port: number
  path: string
  anchor: string
  anchorSubject: string
  anchorSource: string
  try: number
  final: boolean
  outcome: 'pass' | 'fail' | 'not-run'
  class: string | null
  reason: string | null
  reasonDetail: string | null
  upload: UploadEvidence | null
  lines: string[]
  httpStatus: number | null
  durationMs: number
  expect: 'pass' | 'fail' | null
  observationId: number | null
  recordedAt: string
}

export interface HistoryObservation {
  id: number
  runId: string | null
  target: string
  observedAt: string
  hello: string
  protocol: string | null
  cipher: string | null
  served: string[]
  chainHash: string | null
  errorCode: string | null
  errorMessage: string | null
  /** Candidate anchors the resolution found (sha256). */
  anchors: string[]
}

export interface HistoryCert {
  sha256: string
  subject: string
  issuer: string
  keyType: string
  keyBits: number | null
  keyCurve: string | null
  notBefore: string
  notAfter: string
  selfSigned: boolean
  isCA: boolean
  bytes: number
}

type Raw = Record<string, unknown>

/**
 * Read-only queries over the whole history for reports: runs, final attempts (streamed),
 * observations, certificates and transcripts. Nothing here writes.
 */
export class HistoryStore {
  private readonly stmts = new Map<string, Statement>()

  constructor(private readonly db: Db) {}

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql)
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)))
    return s
  }

  runs(): HistoryRun[] {
    return (this.stmt('SELECT id, label, started_at, ended_at, status, devices, profiles, targets FROM runs ORDER BY started_at, id').all() as Raw[]).map((r) => ({
      id: r.id as string, label: (r.label as string | null) ?? null, startedAt: r.started_at as string, endedAt: (r.ended_at as string | null) ?? null, status: r.status as string,
      devices: JSON.parse(r.devices as string) as RunDevice[],
      profiles: r.profiles ? (JSON.parse(r.profiles as string) as Record<string, FirmwareProfile>) : null,
      targets: r.targets ? (JSON.parse(r.targets as string) as RunTarget[]) : null,
    }))
  }

  /**
   * For each (target, module, firmware) with a final attempt in the given runs (all when null),
   * the run that holds its latest word: the newest run by start time.
   */
  latestRuns(runIds: readonly string[] | null): Array<{ target: string; module: string; firmware: string; runId: string }> {
    const where = runIds ? `AND a.run_id IN (${runIds.map(() => '?').join(',')})` : ''
    const rows = this.db.prepare(`SELECT a.target AS target, a.module AS module, a.firmware AS firmware, a.run_id AS runId, max(r.started_at || ' ' || r.id) AS latest
      FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL ${where}
      GROUP BY a.target, a.module, a.firmware`).all(...(runIds ?? [])) as Array<{ target: string; module: string; firmware: string; runId: string }>
    return rows.map(({ target, module, firmware, runId }) => ({ target, module, firmware, runId }))
  }

  /** Final attempts of the given runs, by run then target (one run's observations in memory at a time). */
  *finalAttempts(runIds: readonly string[]): Generator<HistoryAttempt> {
    if (runIds.length === 0) return
    const sql = `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE final = 1 AND run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, target, id`
    for (const r of this.db.prepare(sql).iterate(...runIds) as IterableIterator<Raw>) yield attemptOf(r)
  }

  /** Every attempt of the given runs (retried tries too), in the order recorded: the CSV. */
  *allAttempts(runIds: readonly string[]): Generator<HistoryAttempt> {
    if (runIds.length === 0) return
    const sql = `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, id`
    for (const r of this.db.prepare(sql).iterate(...runIds) as IterableIterator<Raw>) yield attemptOf(r)
  }

  /** Observations made by one run, by target. */
  runObservations(runId: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    for (const r of this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE run_id = ? ORDER BY id`).iterate(runId) as IterableIterator<Raw>) {
      const o = observationOf(r)
      out.set(o.target, [...(out.get(o.target) ?? []), o])
    }
    return out
  }

  observation(id: number): HistoryObservation | null {
    const r = this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE id = ?`).get(id) as Raw | undefined
    return r ? observationOf(r) : null
  }

  /** Per target, its last two successful observations made with this hello (newest first). */
  lastTwoObservations(hello: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    const rows = this.db.prepare(`SELECT ${OBS_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY target ORDER BY observed_at DESC, id DESC) AS rn
      FROM observations WHERE hello = ? AND chain_hash IS NOT NULL) WHERE rn <= 2 ORDER BY target, rn`).iterate(hello) as IterableIterator<Raw>
    for (const r of rows) {
      const o = observationOf(r)
      out.set(o.target, [...(out.get(o.target) ?? []), o])
    }
    return out
  }

  /** Final outcomes of one run for one target, per module and firmware. */
  runVerdicts(runId: string, target: string): Array<{ module: string; firmware: string; outcome: string }> {
    return this.stmt('SELECT module, firmware, outcome FROM attempts WHERE run_id = ? AND target = ? AND final = 1 AND module IS NOT NULL').all(runId, target) as Array<{ module: string; firmware: string; outcome: string }>
  }

  certificate(sha256: string): HistoryCert | null {
    const r = this.stmt('SELECT sha256, subject, issuer, key_type, key_bits, key_curve, not_before, not_after, self_signed, is_ca, length(der) AS bytes FROM certificates WHERE sha256 = ?').get(sha256) as Raw | undefined
    if (!r) return null
    return {
      sha256: r.sha256 as string, subject: r.subject as string, issuer: r.issuer as string, keyType: r.key_type as string, keyBits: (r.key_bits as number | null) ?? null,
      keyCurve: (r.key_curve as string | null) ?? null, notBefore: r.not_before as string, notAfter: r.not_after as string, selfSigned: r.self_signed === 1, isCA: r.is_ca === 1, bytes: r.bytes as number,
    }
  }

  certificateDer(sha256: string): Buffer | null {
    const r = this.stmt('SELECT der FROM certificates WHERE sha256 = ?').get(sha256) as { der: Buffer } | undefined
    return r?.der ?? null
  }

  transcript(attemptId: number): TranscriptEntry[] {
    const r = this.stmt('SELECT transcript FROM attempts WHERE id = ?').get(attemptId) as { transcript: string } | undefined
    return r ? (JSON.parse(r.transcript) as TranscriptEntry[]) : []
  }
}

const ATTEMPT_COLUMNS = `id, run_id, device, module, firmware, profile, target, host, port, path, anchor_sha256, anchor_subject, anchor_source, try, final, outcome, class,
  reason, reason_detail, ca_upload, lines, http_status, duration_ms, expect, observation_id, recorded_at`
const OBS_COLUMNS = 'id, run_id, target, observed_at, hello, protocol, cipher, served, chain_hash, error_code, error_message, anchors'

function attemptOf(r: Raw): HistoryAttempt {
  return {
    id: r.id as number, runId: r.run_id as string, device: r.device as string, module: (r.module as string | null) ?? '?', firmware: (r.firmware as string | null) ?? '?',
    profile: (r.profile as string | null) ?? null, target: r.target as string, host: r.host as string, port: r.port as number, path: r.path as string,
    anchor: r.anchor_sha256 as string, anchorSubject: r.anchor_subject as string, anchorSource: r.anchor_source as string, try: r.try as number, final: r.final === 1,
    outcome: r.outcome as HistoryAttempt['outcome'], class: (r.class as string | null) ?? null, reason: (r.reason as string | null) ?? null, reasonDetail: (r.reason_detail as string | null) ?? null,
    upload: r.ca_upload ? (JSON.parse(r.ca_upload as string) as UploadEvidence) : null, lines: JSON.parse(r.lines as string) as string[], httpStatus: (r.http_status as number | null) ?? null,
    durationMs: r.duration_ms as number, expect: (r.expect as HistoryAttempt['expect']) ?? null, observationId: (r.observation_id as number | null) ?? null, recordedAt: r.recorded_at as string,
  }
}

function observationOf(r: Raw): HistoryObservation {
  return {
    id: r.id as number, runId: (r.run_id as string | null) ?? null, target: r.target as string, observedAt: r.observed_at as string, hello: r.hello as string,
    protocol: (r.protocol as string | null) ?? null, cipher: (r.cipher as string | null) ?? null, served: JSON.parse(r.served as string) as string[], chainHash: (r.chain_hash as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null, errorMessage: (r.error_message as string | null) ?? null,
    anchors: (JSON.parse(r.anchors as string) as Array<{ sha256: string }>).map((a) => a.sha256),
  }
}
