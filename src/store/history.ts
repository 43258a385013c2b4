import { isCaptureErrorCode, type CaptureErrorCode, type KeyInfo, type StoredFields } from '../chain/index.js'
import type { FirmwareProfile } from '../profile/index.js'
import type { TranscriptEntry } from '../device/index.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './db.js'
import { ATTEMPT_SELECT, attemptFromRow, type AttemptRow } from './attempts.js'
import type { RunDevice, RunTarget } from './runs.js'
import { JSON_COLUMNS, LIMITS, readJsonColumn, scalarCheck, type JsonColumn, type UnreadableRow } from './schemas.js'

/** A run as a report reads it. */
export interface HistoryRun {
  id: string
  label: string | null
  startedAt: string
  endedAt: string | null
  status: string
  devices: RunDevice[]
  /** Per device label (an object with no prototype); null: a run stored before profile snapshots. */
  profiles: Record<string, FirmwareProfile> | null
  /** The run's profile snapshots could not be read: its cells have no profile (never a shipped one in its place). */
  profilesUnreadable?: boolean
  targets: RunTarget[] | null
  rig: string | null
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
  errorCode: CaptureErrorCode | null
  errorMessage: string | null
  /** Candidate anchors the resolution found (sha256). */
  anchors: string[]
  /** Verified paths (leaf first, sha256) the resolution found: signatures it already checked. */
  paths: string[][]
  /**
   * The candidate anchors as stored, each with how it matches (path, ski-aki), its kind and its
   * paths: enough to tell again which of them a module's plan would offer it (plan's candidatesFor).
   */
  candidates: HistoryAnchor[]
  /** Its served chain or its anchors cannot be read (said in the report's unreadable rows): not to be relied on. */
  readonly unreadable: boolean
}

/** A candidate anchor of an observation, as stored (a field a row lacks is empty). */
export interface HistoryAnchor {
  sha256: string
  kind: 'root' | 'intermediate'
  match: Array<'path' | 'ski-aki'>
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

/** Only surveys hold verdicts: a learn run's probes (`tlsmatrix learn`) are never read as a cell. */
const SURVEY = "kind = 'survey'"

/** At most this many unreadable rows are listed; the rest are counted. */
const MAX_LISTED = 200

type JsonRead<T> = { ok: true; value: T | null } | { ok: false; problem: string }

/**
 * Read-only queries over the whole history for reports: survey runs, their final attempts
 * (streamed), observations, certificates and transcripts. Learn runs are left out of all of it.
 * Nothing here writes.
 *
 * Every row is checked as it is read (src/store/schemas.ts): a history may hold rows no tlsmatrix
 * wrote (edited by hand, or from before merge checked its sources). A row that cannot be read is
 * left out, or the column that cannot be read is, and it is listed in `unreadable()` with what
 * was done about it: a report says which rows it could not read and goes on.
 */
export class HistoryStore {
  private readonly stmts = new Map<string, Statement>()
  private readonly problems = new Map<string, UnreadableRow>()
  private unlisted = 0
  private readonly seen = new Set<string>()
  private surveyRuns: HistoryRun[] | null = null
  /** Rowids of survey runs left out (a column a report needs cannot be read), as a JSON array for SQL. */
  private excluded = '[]'

  constructor(private readonly db: Db) {}

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql)
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)))
    return s
  }

  /** The rows read so far that could not be read, each once, and how many more were not listed. */
  unreadable(): { rows: UnreadableRow[]; more: number } {
    return { rows: [...this.problems.values()], more: this.unlisted }
  }

  private note(row: UnreadableRow): void {
    // A row is met more than once (its cell, then the CSV): said and counted once.
    const key = `${row.table}\u0000${row.id}\u0000${row.column}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    if (this.problems.size >= MAX_LISTED) this.unlisted++
    else this.problems.set(key, row)
  }

  /** The excluded survey runs, as SQL: `<column> NOT IN (…)` over run rowids. */
  private notExcluded(rowid: string): string {
    this.runs()
    return `${rowid} NOT IN (SELECT value FROM json_each('${this.excluded.replace(/'/g, "''")}'))`
  }

  runs(): HistoryRun[] {
    if (this.surveyRuns) return this.surveyRuns
    const check = scalarCheck('runs', RUN_SCALARS)
    const out: HistoryRun[] = []
    const excluded: number[] = []
    for (const r of this.stmt(
      `SELECT rowid, ${RUN_SCALARS.join(', ')}, devices, profiles, targets FROM runs WHERE ${SURVEY} ORDER BY started_at, id`,
    )
      .raw(true)
      .all() as unknown[][]) {
      const [rowid, id, label, startedAt, endedAt, status, rig, devices, profiles, targets] = r
      const bad = check(r.slice(1, 1 + RUN_SCALARS.length))
      if (bad) {
        excluded.push(rowid as number)
        this.note({
          table: 'runs',
          id: typeof id === 'string' ? id : `rowid ${String(rowid)}`,
          ...bad,
          effect: 'the run is left out of the report',
        })
        continue
      }
      const runId = id as string
      const json = <T>(column: string, col: JsonColumn<T>, value: unknown, effect: string): T | null | undefined => {
        const v = readJsonColumn(col, value)
        if (v.ok) return v.value
        this.note({ table: 'runs', id: runId, column, problem: v.problem, effect })
        return undefined
      }
      const devs = json(
        'devices',
        JSON_COLUMNS.runs.devices,
        devices,
        'its devices are not known: its columns show no profile',
      )
      const profs = json(
        'profiles',
        JSON_COLUMNS.runs.profiles,
        profiles,
        'its cells are not predicted (no profile snapshot to judge them with)',
      )
      const tgts = json(
        'targets',
        JSON_COLUMNS.runs.targets,
        targets,
        "its targets come from its attempts (the hosts file's order, tags and expect= are not known)",
      )
      out.push({
        id: runId,
        label: (label as string | null) ?? null,
        startedAt: startedAt as string,
        endedAt: (endedAt as string | null) ?? null,
        status: status as string,
        devices: devs ?? [],
        profiles: profs === undefined ? (Object.create(null) as Record<string, FirmwareProfile>) : profs,
        ...(profs === undefined ? { profilesUnreadable: true } : {}),
        targets: tgts ?? null,
        rig: (rig as string | null) ?? null,
      })
    }
    this.excluded = JSON.stringify(excluded)
    return (this.surveyRuns = out)
  }

  /** True when the run exists but is left out of the report because it cannot be read. */
  unreadableRun(id: string): boolean {
    this.runs()
    return [...this.problems.values()].some(
      (p) => p.table === 'runs' && p.id === id && p.effect.startsWith('the run is left out'),
    )
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
      FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.${SURVEY} AND ${this.notExcluded('r.rowid')} AND a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL ${where}
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
  targetFinalAttempts(runId: string, target: string): AttemptRow[] {
    return (
      this.stmt(`SELECT ${ATTEMPT_SELECT} FROM attempts WHERE run_id = ? AND target = ? AND final = 1 ORDER BY id`)
        .raw(true)
        .all(runId, target) as unknown[][]
    ).flatMap((r) => this.attemptOf(r) ?? [])
  }

  /** Observations of one target made by one run, in the order made. */
  targetObservations(runId: string, target: string): HistoryObservation[] {
    return (
      this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE run_id = ? AND target = ? ORDER BY id`)
        .raw(true)
        .all(runId, target) as unknown[][]
    ).flatMap((r) => this.observationOf(r) ?? [])
  }

  /** How many rigs the history holds runs from. */
  rigCount(): number {
    return (
      this.db
        .prepare(
          `SELECT count(DISTINCT rig) AS n FROM runs WHERE rig IS NOT NULL AND ${SURVEY} AND ${this.notExcluded('rowid')}`,
        )
        .get() as { n: number }
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
      FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.${SURVEY} AND ${this.notExcluded('r.rowid')} AND a.final = 1 AND a.module IS NOT NULL AND a.firmware IS NOT NULL AND r.rig IS NOT NULL ${where}
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
  runFinalAttempts(runId: string): Map<string, AttemptRow[]> {
    const out = new Map<string, AttemptRow[]>()
    for (const r of this.db
      .prepare(`SELECT ${ATTEMPT_SELECT} FROM attempts WHERE run_id = ? AND final = 1`)
      .raw(true)
      .iterate(runId) as IterableIterator<unknown[]>) {
      const a = this.attemptOf(r)
      if (!a) continue
      const list = out.get(a.target)
      if (list) list.push(a)
      else out.set(a.target, [a])
    }
    for (const list of out.values()) list.sort((x, y) => x.id - y.id)
    return out
  }

  /** Every attempt of the given runs (retried tries too), in the order recorded: the CSV. */
  *allAttempts(runIds: readonly string[]): Generator<AttemptRow> {
    if (runIds.length === 0) return
    const sql = `SELECT ${ATTEMPT_SELECT} FROM attempts WHERE run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, id`
    for (const r of this.db
      .prepare(sql)
      .raw(true)
      .iterate(...runIds) as IterableIterator<unknown[]>) {
      const a = this.attemptOf(r)
      if (a) yield a
    }
  }

  /** Observations made by one run, by target. */
  runObservations(runId: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    const stmt = this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE run_id = ? ORDER BY id`)
    for (const r of stmt.raw(true).iterate(runId) as IterableIterator<unknown[]>) {
      const o = this.observationOf(r)
      if (!o) continue
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
    const r = this.stmt('SELECT plan FROM runs WHERE id = ?').get(runId) as { plan: unknown } | undefined
    if (!r) return null
    // Through the plan's schema, as every reader of the column: a plan that cannot be read is
    // listed as unreadable, and its cells are judged as if the run had stored none.
    const plan = readJsonColumn(JSON_COLUMNS.runs.plan, r.plan)
    if (!plan.ok) {
      this.note({
        table: 'runs',
        id: runId,
        column: 'plan',
        problem: plan.problem,
        effect:
          'the CAs its plan gave each target are not known: a cell of it with no pass is incomplete, never a fail',
      })
      return null
    }
    if (!plan.value) return null
    const out = new Map<string, string[]>()
    for (const d of plan.value)
      for (const g of d.groups)
        for (const i of g.items) {
          const key = `${d.device}\u0000${i.target}`
          const list = out.get(key)
          if (!list) out.set(key, [g.anchor.sha256])
          else if (!list.includes(g.anchor.sha256)) list.push(g.anchor.sha256)
        }
    return out
  }

  /** The kind of a run (null: no such run), so a report names a learn run it was asked for rather than calling it missing. */
  runKind(id: string): 'survey' | 'learn' | null {
    const r = this.stmt('SELECT kind FROM runs WHERE id = ?').get(id) as { kind: string } | undefined
    return r ? (r.kind === 'learn' ? 'learn' : 'survey') : null
  }

  observation(id: number): HistoryObservation | null {
    const r = this.stmt(`SELECT ${OBS_COLUMNS} FROM observations WHERE id = ?`).raw(true).get(id) as
      unknown[] | undefined
    return r ? this.observationOf(r) : null
  }

  /** Per target, its last two successful observations made with this hello (newest first). */
  lastTwoObservations(hello: string): Map<string, HistoryObservation[]> {
    const out = new Map<string, HistoryObservation[]>()
    const rows = this.db
      .prepare(
        `SELECT ${OBS_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY target ORDER BY observed_at DESC, id DESC) AS rn
      FROM observations WHERE hello = ? AND chain_hash IS NOT NULL AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE NOT ${SURVEY} OR NOT ${this.notExcluded('rowid')})))
      WHERE rn <= 2 ORDER BY target, rn`,
      )
      .raw(true)
      .iterate(hello) as IterableIterator<unknown[]>
    for (const r of rows) {
      const o = this.observationOf(r)
      if (!o) continue
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
    const r = this.stmt(`SELECT ${CERT_COLUMNS.join(', ')}, length(der) AS bytes FROM certificates WHERE sha256 = ?`)
      .raw(true)
      .get(sha256) as unknown[] | undefined
    if (!r || !this.certificateReadable(r)) return null
    const [sha, subject, issuer, keyType, keyBits, keyCurve, notBefore, notAfter, selfSigned, isCA, bytes] = r
    return {
      sha256: sha as string,
      subject: subject as string,
      issuer: issuer as string,
      keyType: keyType as string,
      keyBits: (keyBits as number | null) ?? null,
      keyCurve: (keyCurve as string | null) ?? null,
      notBefore: notBefore as string,
      notAfter: notAfter as string,
      selfSigned: selfSigned === 1,
      isCA: isCA === 1,
      bytes: bytes as number,
    }
  }

  private certificateReadable(r: readonly unknown[]): boolean {
    const bad = CERT_CHECK(r)
    if (!bad) return true
    this.note({
      table: 'certificates',
      id: String(r[0]),
      ...bad,
      effect: 'the certificate is treated as missing from the database',
    })
    return false
  }

  /**
   * Parsed JSON texts met again and again (the same module lines, the same upload): checked once.
   * One cache per column, keyed by the text itself (no key is built per row: 200,000 rows).
   */
  private readonly parsedJson = new Map<JsonColumn<unknown>, Map<string, JsonRead<unknown>>>()

  private json<T>(col: JsonColumn<T>, text: unknown): JsonRead<T> {
    if (typeof text !== 'string' || text.length > 65_536) return readJsonColumn(col, text)
    let cache = this.parsedJson.get(col)
    if (!cache) this.parsedJson.set(col, (cache = new Map<string, JsonRead<unknown>>()))
    let v = cache.get(text)
    if (v === undefined) {
      v = readJsonColumn(col, text)
      if (cache.size < 50_000) cache.set(text, v)
    }
    return v as JsonRead<T>
  }

  /** A raw row of ATTEMPT_SELECT, through the one row mapper; null (and listed as unreadable) when it cannot be read. */
  private attemptOf(r: readonly unknown[]): AttemptRow | null {
    const a = attemptFromRow(r, (col, text) => this.json(col, text))
    if (a.ok) return a.attempt
    this.note({ table: 'attempts', id: r[0] as number, ...a.problem, effect: 'the attempt is left out of the report' })
    return null
  }

  /** A row of OBS_COLUMNS; its JSON is parsed on first use (a report reads 200,000 and most paths are known already). */
  private observationOf(r: unknown[]): HistoryObservation | null {
    const bad = OBS_CHECK(r)
    const [
      id,
      runId,
      target,
      observedAt,
      hello,
      protocol,
      cipher,
      servedJson,
      chainHash,
      errorCode,
      errorMessage,
      anchorsJson,
    ] = r
    if (bad) {
      this.note({
        table: 'observations',
        id: id as number,
        ...bad,
        effect: 'the observation is left out of the report',
      })
      return null
    }
    let anchors: { anchors: string[]; paths: string[][]; candidates: HistoryAnchor[] } | null = null
    let served: string[] | null = null
    let servedBad = false
    let anchorsBad = false
    const readServed = (): string[] => {
      if (served) return served
      const v = readJsonColumn(JSON_COLUMNS.observations.served, servedJson)
      if (v.ok) return (served = v.value ?? [])
      servedBad = true
      this.note({
        table: 'observations',
        id: id as number,
        column: 'served',
        problem: v.problem,
        effect: 'its chain is not known: no prediction or chain change rests on it',
      })
      return (served = [])
    }
    const readAnchors = (): { anchors: string[]; paths: string[][]; candidates: HistoryAnchor[] } => {
      if (anchors) return anchors
      const v = readJsonColumn(JSON_COLUMNS.observations.anchors, anchorsJson)
      if (v.ok) {
        const list = v.value ?? []
        return (anchors = {
          anchors: list.map((a) => a.sha256),
          paths: list.flatMap((a) => a.paths ?? []),
          candidates: list.map((a) => ({
            sha256: a.sha256,
            kind: a.kind === 'intermediate' ? 'intermediate' : 'root',
            match: (a.match ?? []).filter((m): m is 'path' | 'ski-aki' => m === 'path' || m === 'ski-aki'),
            paths: a.paths ?? [],
          })),
        })
      }
      anchorsBad = true
      this.note({
        table: 'observations',
        id: id as number,
        column: 'anchors',
        problem: v.problem,
        effect: 'its anchors are not known: no prediction or chain change rests on it',
      })
      return (anchors = { anchors: [], paths: [], candidates: [] })
    }
    return {
      id: id as number,
      runId: (runId as string | null) ?? null,
      target: target as string,
      observedAt: observedAt as string,
      hello: hello as string,
      protocol: (protocol as string | null) ?? null,
      cipher: (cipher as string | null) ?? null,
      chainHash: (chainHash as string | null) ?? null,
      errorCode: isCaptureErrorCode(errorCode) ? errorCode : null,
      errorMessage: (errorMessage as string | null) ?? null,
      get served() {
        return readServed()
      },
      get anchors() {
        return readAnchors().anchors
      },
      get paths() {
        return readAnchors().paths
      },
      get candidates() {
        return readAnchors().candidates
      },
      get unreadable() {
        readServed()
        readAnchors()
        return servedBad || anchorsBad
      },
    }
  }

  /** DER and the stored fields a prediction needs, null when the certificate is not stored (or cannot be read). */
  certificateForJudging(sha256: string): { der: Buffer; fields: StoredFields } | null {
    const r = this.stmt(
      `SELECT ${CERT_COLUMNS.join(', ')}, der, serial, ski, aki, signature FROM certificates WHERE sha256 = ?`,
    )
      .raw(true)
      .get(sha256) as unknown[] | undefined
    if (!r || !this.certificateReadable(r)) return null
    const [, , , keyType, keyBits, keyCurve, , , selfSigned, isCA, der, serial, ski, aki, signature] = r
    return {
      der: der as Buffer,
      fields: {
        sha256,
        serial: serial as string,
        ski: (ski as string | null) ?? null,
        aki: (aki as string | null) ?? null,
        key: {
          type: keyType as KeyInfo['type'],
          bits: (keyBits as number | null) ?? null,
          curve: (keyCurve as string | null) ?? null,
        },
        signature: signature as string,
        isCA: isCA === 1,
        selfSigned: selfSigned === 1,
      },
    }
  }

  /**
   * An attempt's transcript. One that cannot be read (not JSON, not a transcript, over the size a
   * transcript can have) is a single note saying so, and is listed as unreadable: the cell keeps
   * its place in the report.
   */
  transcript(attemptId: number): TranscriptEntry[] {
    const r = this.stmt(
      'SELECT length(transcript) AS n, CASE WHEN length(transcript) <= ? THEN transcript END AS t FROM attempts WHERE id = ?',
    ).get(LIMITS.transcript, attemptId) as { n: number | null; t: unknown } | undefined
    if (!r) return []
    const v =
      r.n !== null && r.n > LIMITS.transcript
        ? { ok: false as const, problem: `holds ${r.n} characters, over the limit of ${LIMITS.transcript}` }
        : readJsonColumn(JSON_COLUMNS.attempts.transcript, r.t)
    if (v.ok) return v.value ?? []
    this.note({
      table: 'attempts',
      id: attemptId,
      column: 'transcript',
      problem: v.problem,
      effect: 'the transcript is not shown',
    })
    return [{ dir: 'note', t: 0, data: `the transcript of attempt ${attemptId} cannot be read: it ${v.problem}` }]
  }
}

const RUN_SCALARS = ['id', 'label', 'started_at', 'ended_at', 'status', 'rig']
const OBS_COLUMNS =
  'id, run_id, target, observed_at, hello, protocol, cipher, served, chain_hash, error_code, error_message, anchors'
const OBS_NAMES = OBS_COLUMNS.split(', ')

const OBS_CHECK = scalarCheck('observations', OBS_NAMES)
const CERT_COLUMNS = [
  'sha256',
  'subject',
  'issuer',
  'key_type',
  'key_bits',
  'key_curve',
  'not_before',
  'not_after',
  'self_signed',
  'is_ca',
]
const CERT_CHECK = scalarCheck('certificates', CERT_COLUMNS)
