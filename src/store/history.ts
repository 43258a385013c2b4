import type { KeyInfo, StoredFields } from '../chain/index.js'
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
  rig: string | null
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
  /** Free text kept with the attempt: for a must-reject target tried with a borrowed CA, which and why. */
  note?: string | null
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
  /** Verified paths (leaf first, sha256) the resolution found: signatures it already checked. */
  paths: string[][]
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

/** Only surveys hold verdicts: a learn run's probes (`tlsmatrix learn`) are never read as a cell. */
const SURVEY = "kind = 'survey'"

/**
 * Read-only queries over the whole history for reports: survey runs, their final attempts
 * (streamed), observations, certificates and transcripts. Learn runs are left out of all of it.
 * Nothing here writes.
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
    return (
      this.stmt(
        `SELECT id, label, started_at, ended_at, status, devices, profiles, targets, rig FROM runs WHERE ${SURVEY} ORDER BY started_at, id`,
      ).all() as Raw[]
    ).map((r) => ({
      id: r.id as string,
      label: (r.label as string | null) ?? null,
      startedAt: r.started_at as string,
      endedAt: (r.ended_at as string | null) ?? null,
      status: r.status as string,
      devices: JSON.parse(r.devices as string) as RunDevice[],
      profiles: r.profiles ? (JSON.parse(r.profiles as string) as Record<string, FirmwareProfile>) : null,
      targets: r.targets ? (JSON.parse(r.targets as string) as RunTarget[]) : null,
      rig: (r.rig as string | null) ?? null,
    }))
  }

  /**
   * For each (target, module, firmware) with a final attempt in the given runs (all when null),
   * the run that holds its latest word: the newest complete run, else the newest run (a run
   * killed half-way must not hide the CAs a complete run tried after it).
   */
  latestRuns(
    runIds: readonly string[] | null,
  ): Array<{ target: string; module: string; firmware: string; runId: string }> {
    const where = runIds ? `AND a.run_id IN (${runIds.map(() => '?').join(',')})` : ''
    const rows = this.db
      .prepare(
        `SELECT a.target AS target, a.module AS module, a.firmware AS firmware, a.run_id AS runId, max((CASE WHEN r.status = 'complete' THEN '1 ' ELSE '0 ' END) || r.started_at || ' ' || r.id) AS latest
      FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.${SURVEY} AND a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL ${where}
      GROUP BY a.target, a.module, a.firmware`,
      )
      .all(...(runIds ?? [])) as Array<{ target: string; module: string; firmware: string; runId: string }>
    return rows.map(({ target, module, firmware, runId }) => ({ target, module, firmware, runId }))
  }

  /**
   * The newest complete survey run holding a verdict (pass or fail) for this module@firmware: a
   * release gate's baseline, looked up over the whole history (or only `within`, when given)
   * whatever run the candidate is. A run whose device time was all spent holds no verdict and is
   * passed over, as it would compare with nothing. Null when there is none.
   */
  latestCompleteRunOf(
    module: string,
    firmware: string,
    opts: { exclude?: readonly string[]; within?: readonly string[] } = {},
  ): string | null {
    const exclude = opts.exclude ?? []
    const within = opts.within
    const r = this.db
      .prepare(
        `SELECT r.id AS id FROM runs r WHERE r.${SURVEY} AND r.status = 'complete'
        ${exclude.length ? `AND r.id NOT IN (${exclude.map(() => '?').join(',')})` : ''}
        ${within ? `AND r.id IN (${within.map(() => '?').join(',') || "''"})` : ''}
        AND EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = r.id AND a.final = 1 AND a.module = ? AND a.firmware = ? AND a.outcome IN ('pass', 'fail'))
        ORDER BY r.started_at DESC, r.id DESC LIMIT 1`,
      )
      .get(...exclude, ...(within ?? []), module, firmware) as { id: string } | undefined
    return r?.id ?? null
  }

  /**
   * The newest complete survey run begun before this one (tonight against last night) that holds
   * a verdict: a night whose device time budget was all spent has none, and a diff against it
   * would show no regression at all. Null when there is none (the first night).
   */
  previousCompleteRun(runId: string): string | null {
    const r = this.stmt(
      `SELECT id FROM runs WHERE status = 'complete' AND ${SURVEY} AND id != ? AND started_at <= (SELECT started_at FROM runs WHERE id = ?)
      AND EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = runs.id AND a.final = 1 AND a.outcome IN ('pass', 'fail'))
      ORDER BY started_at DESC, id DESC LIMIT 1`,
    ).get(runId, runId) as { id: string } | undefined
    return r?.id ?? null
  }

  /** Every `MODULE@FIRMWARE` a complete survey run holds a verdict for, sorted: what a selector may name. */
  firmwareWithVerdicts(): string[] {
    return (
      this.stmt(
        `SELECT DISTINCT a.module AS module, a.firmware AS firmware FROM attempts a JOIN runs r ON r.id = a.run_id
        WHERE r.${SURVEY} AND r.status = 'complete' AND a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL AND a.outcome IN ('pass', 'fail')
        ORDER BY a.module, a.firmware`,
      ).all() as Array<{ module: string; firmware: string }>
    ).map((r) => `${r.module}@${r.firmware}`)
  }

  /** Final attempts of one target in one run (all its devices), in the order recorded. */
  targetFinalAttempts(runId: string, target: string): HistoryAttempt[] {
    return (
      this.stmt(`SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ? AND target = ? AND final = 1 ORDER BY id`)
        .raw(true)
        .all(runId, target) as unknown[][]
    ).map((r) => this.attemptOf(r))
  }

  /** Observations of one target made by one run, in the order made. */
  targetObservations(runId: string, target: string): HistoryObservation[] {
    return (
      this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE run_id = ? AND target = ? ORDER BY id`).all(
        runId,
        target,
      ) as Raw[]
    ).map(observationOf)
  }

  /** How many rigs the history holds runs from. */
  rigCount(): number {
    return (
      this.stmt(`SELECT count(DISTINCT rig) AS n FROM runs WHERE rig IS NOT NULL AND ${SURVEY}`).get() as { n: number }
    ).n
  }

  /**
   * Per (target, module, firmware, rig): the run holding that rig's latest word (the newest
   * complete run, else the newest), for the given runs (all when null).
   */
  latestRunsPerRig(
    runIds: readonly string[] | null,
  ): Array<{ target: string; module: string; firmware: string; rig: string; runId: string }> {
    const where = runIds ? `AND a.run_id IN (${runIds.map(() => '?').join(',')})` : ''
    const rows = this.db
      .prepare(
        `SELECT a.target AS target, a.module AS module, a.firmware AS firmware, r.rig AS rig,
      max((CASE WHEN r.status = 'complete' THEN '1 ' ELSE '0 ' END) || r.started_at || ' ' || r.id) AS latest
      FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.${SURVEY} AND a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL AND r.rig IS NOT NULL ${where}
      GROUP BY a.target, a.module, a.firmware, r.rig`,
      )
      .all(...(runIds ?? [])) as Array<{
      target: string
      module: string
      firmware: string
      rig: string
      latest: string
    }>
    return rows.map(({ latest, ...r }) => ({ ...r, runId: latest.slice(latest.lastIndexOf(' ') + 1) }))
  }

  /** Final attempts of one run, by target (in the order recorded within a target). */
  runFinalAttempts(runId: string): Map<string, HistoryAttempt[]> {
    const out = new Map<string, HistoryAttempt[]>()
    for (const r of this.db
      .prepare(`SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ? AND final = 1`)
      .raw(true)
      .iterate(runId) as IterableIterator<unknown[]>) {
      const a = this.attemptOf(r)
      const list = out.get(a.target)
      if (list) list.push(a)
      else out.set(a.target, [a])
    }
    for (const list of out.values()) list.sort((x, y) => x.id - y.id)
    return out
  }

  /** Every attempt of the given runs (retried tries too), in the order recorded: the CSV. */
  *allAttempts(runIds: readonly string[]): Generator<HistoryAttempt> {
    if (runIds.length === 0) return
    const sql = `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, id`
    for (const r of this.db
      .prepare(sql)
      .raw(true)
      .iterate(...runIds) as IterableIterator<unknown[]>)
      yield this.attemptOf(r)
  }

  /** Observations made by one run, by target. */
  runObservations(runId: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    const stmt = this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE run_id = ? ORDER BY id`)
    for (const r of stmt.raw(true).iterate(runId) as IterableIterator<unknown[]>) {
      const o = observationOf(Object.fromEntries(OBS_NAMES.map((n, i) => [n, r[i]])) as Raw)
      const list = out.get(o.target)
      if (list) list.push(o)
      else out.set(o.target, [o])
    }
    stmt.raw(false)
    return out
  }

  /**
   * The CAs a run's stored plan gave each (device, target) for device work, keyed
   * `device NUL target`; null when the run stored no plan (stopped while resolving). Read only for
   * runs that did not end complete: a report then tells a fail from work left undone.
   */
  runPlanned(runId: string): Map<string, string[]> | null {
    const r = this.stmt('SELECT plan FROM runs WHERE id = ?').get(runId) as { plan: string | null } | undefined
    if (!r?.plan) return null
    let plan: unknown
    try {
      plan = JSON.parse(r.plan)
    } catch {
      return null
    }
    const out = new Map<string, string[]>()
    if (!Array.isArray(plan)) return null
    for (const d of plan as Array<{ device?: unknown; groups?: unknown }>) {
      if (typeof d?.device !== 'string' || !Array.isArray(d.groups)) continue
      for (const g of d.groups as Array<{ anchor?: { sha256?: unknown }; items?: unknown }>) {
        const sha = g?.anchor?.sha256
        if (typeof sha !== 'string' || !Array.isArray(g.items)) continue
        for (const i of g.items as Array<{ target?: unknown }>) {
          if (typeof i?.target !== 'string') continue
          const key = `${d.device}\u0000${i.target}`
          const list = out.get(key)
          if (!list) out.set(key, [sha])
          else if (!list.includes(sha)) list.push(sha)
        }
      }
    }
    return out
  }

  /** The kind of a run (null: no such run), so a report names a learn run it was asked for rather than calling it missing. */
  runKind(id: string): 'survey' | 'learn' | null {
    const r = this.stmt('SELECT kind FROM runs WHERE id = ?').get(id) as { kind: string } | undefined
    return r ? (r.kind === 'learn' ? 'learn' : 'survey') : null
  }

  observation(id: number): HistoryObservation | null {
    const r = this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE id = ?`).get(id) as Raw | undefined
    return r ? observationOf(r) : null
  }

  /** Per target, its last two successful observations made with this hello (newest first). */
  lastTwoObservations(hello: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    const rows = this.db
      .prepare(
        `SELECT ${OBS_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY target ORDER BY observed_at DESC, id DESC) AS rn
      FROM observations WHERE hello = ? AND chain_hash IS NOT NULL AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE NOT ${SURVEY})))
      WHERE rn <= 2 ORDER BY target, rn`,
      )
      .iterate(hello) as IterableIterator<Raw>
    for (const r of rows) {
      const o = observationOf(r)
      out.set(o.target, [...(out.get(o.target) ?? []), o])
    }
    return out
  }

  /** Final outcomes of one run for one target, per module and firmware. */
  runVerdicts(runId: string, target: string): Array<{ module: string; firmware: string; outcome: string }> {
    return this.stmt(
      'SELECT module, firmware, outcome FROM attempts WHERE run_id = ? AND target = ? AND final = 1 AND module IS NOT NULL',
    ).all(runId, target) as Array<{ module: string; firmware: string; outcome: string }>
  }

  certificate(sha256: string): HistoryCert | null {
    const r = this.stmt(
      'SELECT sha256, subject, issuer, key_type, key_bits, key_curve, not_before, not_after, self_signed, is_ca, length(der) AS bytes FROM certificates WHERE sha256 = ?',
    ).get(sha256) as Raw | undefined
    if (!r) return null
    return {
      sha256: r.sha256 as string,
      subject: r.subject as string,
      issuer: r.issuer as string,
      keyType: r.key_type as string,
      keyBits: (r.key_bits as number | null) ?? null,
      keyCurve: (r.key_curve as string | null) ?? null,
      notBefore: r.not_before as string,
      notAfter: r.not_after as string,
      selfSigned: r.self_signed === 1,
      isCA: r.is_ca === 1,
      bytes: r.bytes as number,
    }
  }

  /** JSON texts met again and again (the same module lines, the same upload): parsed once. */
  private readonly parsedJson = new Map<string, unknown>()

  private json<T>(text: string): T {
    let v = this.parsedJson.get(text)
    if (v === undefined) {
      v = JSON.parse(text)
      if (this.parsedJson.size < 50_000) this.parsedJson.set(text, v)
    }
    return v as T
  }

  /** A row of ATTEMPT_COLUMNS, in their order (raw rows: 200,000 of them are read at once). */
  private attemptOf(r: unknown[]): HistoryAttempt {
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
      durationMs,
      expect,
      observationId,
      recordedAt,
      note,
    ] = r
    return {
      id: id as number,
      runId: runId as string,
      device: device as string,
      module: (module as string | null) ?? '?',
      firmware: (firmware as string | null) ?? '?',
      profile: (profile as string | null) ?? null,
      target: target as string,
      host: host as string,
      port: port as number,
      path: path as string,
      anchor: anchor as string,
      anchorSubject: anchorSubject as string,
      anchorSource: anchorSource as string,
      try: tryNo as number,
      final: final === 1,
      outcome: outcome as HistoryAttempt['outcome'],
      class: (cls as string | null) ?? null,
      reason: (reason as string | null) ?? null,
      reasonDetail: (reasonDetail as string | null) ?? null,
      upload: upload ? this.json<UploadEvidence>(upload as string) : null,
      lines: this.json<string[]>(lines as string),
      httpStatus: (httpStatus as number | null) ?? null,
      durationMs: durationMs as number,
      expect: (expect as HistoryAttempt['expect']) ?? null,
      observationId: (observationId as number | null) ?? null,
      recordedAt: recordedAt as string,
      note: (note as string | null) ?? null,
    }
  }

  /** DER and the stored fields a prediction needs, null when the certificate is not stored. */
  certificateForJudging(sha256: string): { der: Buffer; fields: StoredFields } | null {
    const r = this.stmt(
      'SELECT der, serial, ski, aki, key_type, key_bits, key_curve, signature, is_ca, self_signed FROM certificates WHERE sha256 = ?',
    ).get(sha256) as Raw | undefined
    if (!r) return null
    return {
      der: r.der as Buffer,
      fields: {
        sha256,
        serial: r.serial as string,
        ski: (r.ski as string | null) ?? null,
        aki: (r.aki as string | null) ?? null,
        key: {
          type: r.key_type as KeyInfo['type'],
          bits: (r.key_bits as number | null) ?? null,
          curve: (r.key_curve as string | null) ?? null,
        },
        signature: r.signature as string,
        isCA: r.is_ca === 1,
        selfSigned: r.self_signed === 1,
      },
    }
  }

  transcript(attemptId: number): TranscriptEntry[] {
    const r = this.stmt('SELECT transcript FROM attempts WHERE id = ?').get(attemptId) as
      { transcript: string } | undefined
    return r ? (JSON.parse(r.transcript) as TranscriptEntry[]) : []
  }
}

const ATTEMPT_COLUMNS = `id, run_id, device, module, firmware, profile, target, host, port, path, anchor_sha256, anchor_subject, anchor_source, try, final, outcome, class,
  reason, reason_detail, ca_upload, lines, http_status, duration_ms, expect, observation_id, recorded_at, note`
const OBS_COLUMNS =
  'id, run_id, target, observed_at, hello, protocol, cipher, served, chain_hash, error_code, error_message, anchors'
const OBS_NAMES = OBS_COLUMNS.split(', ')

function observationOf(r: Raw): HistoryObservation {
  const anchorsJson = r.anchors as string
  const servedJson = r.served as string
  let anchors: { anchors: string[]; paths: string[][] } | null = null
  let served: string[] | null = null
  // Parsed on first use: a report reads 200,000 observations and most of their paths are known already.
  return {
    id: r.id as number,
    runId: (r.run_id as string | null) ?? null,
    target: r.target as string,
    observedAt: r.observed_at as string,
    hello: r.hello as string,
    protocol: (r.protocol as string | null) ?? null,
    cipher: (r.cipher as string | null) ?? null,
    chainHash: (r.chain_hash as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    get served() {
      return (served ??= JSON.parse(servedJson) as string[])
    },
    get anchors() {
      return (anchors ??= anchorsOf(anchorsJson)).anchors
    },
    get paths() {
      return (anchors ??= anchorsOf(anchorsJson)).paths
    },
  }
}

function anchorsOf(json: string): { anchors: string[]; paths: string[][] } {
  const list = JSON.parse(json) as Array<{ sha256: string; paths?: string[][] }>
  return { anchors: list.map((a) => a.sha256), paths: list.flatMap((a) => a.paths ?? []) }
}
