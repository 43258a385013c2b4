import { createHash } from 'node:crypto'
import { AppError } from '../core/errors.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './db.js'
import { knownColumns, rowProblem } from './schemas.js'

/** What one source added to the history. */
export interface MergeCounts {
  /** Runs new to the history. */
  runs: number
  /** Runs the history had unfinished and the source had further along (resumed there since). */
  updated: number
  attempts: number
  observations: number
  certificates: number
}

type Row = Record<string, unknown>

/** Run columns that change while a run goes on (resume, end); the others say which run it is. */
const PROGRESS = new Set(['status', 'ended_at', 'devices', 'plan', 'profiles'])

/**
 * Copies one source database (a snapshot at the current schema) into the history: runs keep
 * their ids, attempts and observations get new ids (attempts.observation_id follows), and what
 * the history already holds is recognised by content, so merging the same data twice adds
 * nothing. A run already in the history:
 * - the same run (its identifying columns equal) and the same attempts: nothing is added;
 * - unfinished in the history (running, interrupted, device-lost) and its attempts a prefix of
 *   the source's: the source's further attempts are added and its status and progress taken;
 * - the source's attempts a prefix of the history's and the source's copy unfinished (an older
 *   snapshot of the same run): nothing is added;
 * - anything else is a conflict (MERGE_CONFLICT naming the run): two databases disagree on it.
 * Learn runs are copied like surveys: a run's kind is one of the columns that say which run it is.
 * Runs only SQL on the two handles; the caller holds the history's transaction.
 */
export function mergeInto(history: Db, source: Db, sourceName: string): MergeCounts {
  const m = new Merger(history, source, sourceName)
  return m.merge()
}

class Merger {
  private readonly counts: MergeCounts = { runs: 0, updated: 0, attempts: 0, observations: 0, certificates: 0 }
  private readonly cols: Record<'runs' | 'attempts' | 'observations' | 'certificates', string[]>
  /** Per run id ('' for none), the history's observations of it by content. */
  private readonly historyObs = new Map<string, Map<string, number>>()
  /** Source observation id → history observation id. */
  private readonly obsMap = new Map<number, number>()
  /** Observation id → content fingerprint, per side. */
  private readonly srcObsFp = new Map<number, string>()
  private readonly histObsFp = new Map<number, string>()
  private readonly stmts = new Map<string, Statement>()

  constructor(
    private readonly history: Db,
    private readonly source: Db,
    private readonly name: string,
  ) {
    const tables = ['runs', 'attempts', 'observations', 'certificates'] as const
    this.cols = Object.fromEntries(
      tables.map((t) => {
        const h = columns(history, t)
        const s = columns(source, t)
        // Both were checked against the current schema (checkShape); rows are read by column name.
        if (h.length !== s.length || !h.every((c) => s.includes(c)))
          throw new AppError(
            'STORE_CORRUPT',
            `${name}: table ${t} has columns ${s.join(', ')}; the history has ${h.join(', ')}. Nothing was merged.`,
          )
        return [t, h]
      }),
    ) as Merger['cols']
  }

  /** Prepared once per merge: a fleet's history is 200,000 attempts. */
  private stmt(db: Db, sql: string): Statement {
    const key = `${db === this.history ? 'h' : 's'}${sql}`
    let st = this.stmts.get(key)
    if (!st) this.stmts.set(key, (st = db.prepare(sql)))
    return st
  }

  merge(): MergeCounts {
    const insertCert = this.stmt(
      this.history,
      `INSERT OR IGNORE INTO certificates (${this.cols.certificates.join(', ')}) VALUES (${this.cols.certificates.map(() => '?').join(', ')})`,
    )
    for (const c of this.stmt(this.source, 'SELECT * FROM certificates').iterate() as IterableIterator<Row>) {
      this.counts.certificates += insertCert.run(...this.cols.certificates.map((k) => c[k])).changes
    }
    // Observations of no run (`resolve`, and databases older than schema 4).
    for (const o of this.stmt(
      this.source,
      'SELECT * FROM observations WHERE run_id IS NULL ORDER BY id',
    ).iterate() as IterableIterator<Row>)
      this.observation(o)
    for (const r of this.stmt(this.source, 'SELECT * FROM runs ORDER BY started_at, id').all() as Row[]) this.run(r)
    return this.counts
  }

  private run(src: Row): void {
    const id = src.id as string
    const hist = this.stmt(this.history, 'SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined
    if (!hist) {
      this.insertRow('runs', this.cols.runs, src)
      this.counts.runs++
      this.copyObservations(id)
      for (const a of this.sourceAttempts(id)) this.insertAttempt(a)
      return
    }
    const differs = this.cols.runs.filter((c) => !PROGRESS.has(c) && !same(src[c], hist[c]))
    if (differs.length > 0) throw this.conflict(id, `its ${differs.join(', ')} differ`)
    const histDone = hist.status === 'complete'
    const srcDone = src.status === 'complete'
    const rowSame = this.cols.runs.every((c) => same(src[c], hist[c]))
    // The common case, a finished run merged again: rows equal and as many attempts, no hashing.
    if (histDone && srcDone && rowSame && this.attemptCount(this.source, id) === this.attemptCount(this.history, id))
      return
    const srcAttempts = this.sourceAttempts(id)
    const srcFps = srcAttempts.map((a) => this.attemptFp(a, this.srcObsFp, this.source))
    const histFps = (
      this.stmt(this.history, 'SELECT * FROM attempts WHERE run_id = ? ORDER BY id').all(id) as Row[]
    ).map((a) => this.attemptFp(a, this.histObsFp, this.history))
    if (isPrefix(histFps, srcFps) && (!histDone || (srcDone && rowSame && histFps.length === srcFps.length))) {
      this.copyObservations(id)
      for (const a of srcAttempts.slice(histFps.length)) this.insertAttempt(a)
      if (!rowSame) {
        const set = this.cols.runs.filter((c) => PROGRESS.has(c))
        this.stmt(this.history, `UPDATE runs SET ${set.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`).run(
          ...set.map((c) => src[c]),
          id,
        )
        this.counts.updated++
      }
      return
    }
    // An older snapshot of a run the history holds further along.
    if (isPrefix(srcFps, histFps) && !srcDone) return
    throw this.conflict(
      id,
      histDone ? 'it is complete in the history with other attempts or state' : 'their attempts differ',
    )
  }

  private conflict(id: string, why: string): AppError {
    return new AppError(
      'MERGE_CONFLICT',
      `run ${id} in ${this.name} is not the run of that id in the history (${why}); nothing was merged`,
    )
  }

  private attemptCount(db: Db, runId: string): number {
    return (this.stmt(db, 'SELECT count(*) AS n FROM attempts WHERE run_id = ?').get(runId) as { n: number }).n
  }

  private sourceAttempts(runId: string): Row[] {
    return this.stmt(this.source, 'SELECT * FROM attempts WHERE run_id = ? ORDER BY id').all(runId) as Row[]
  }

  /** Every observation the source made for the run (also those no attempt refers to). */
  private copyObservations(runId: string): void {
    for (const o of this.stmt(this.source, 'SELECT * FROM observations WHERE run_id = ? ORDER BY id').iterate(
      runId,
    ) as IterableIterator<Row>)
      this.observation(o)
  }

  /** The history's id for a source observation, inserted when the history has none like it. */
  private observation(o: Row): number {
    const srcId = o.id as number
    const known = this.obsMap.get(srcId)
    if (known !== undefined) return known
    const fp = fingerprint(this.cols.observations.filter((c) => c !== 'id').map((c) => o[c]))
    this.srcObsFp.set(srcId, fp)
    const scope = this.historyScope((o.run_id as string | null) ?? null)
    let id = scope.get(fp)
    if (id === undefined) {
      id = this.insertRow(
        'observations',
        this.cols.observations.filter((c) => c !== 'id'),
        o,
      )
      scope.set(fp, id)
      this.histObsFp.set(id, fp)
      this.counts.observations++
    }
    this.obsMap.set(srcId, id)
    return id
  }

  private historyScope(runId: string | null): Map<string, number> {
    let scope = this.historyObs.get(runId ?? '')
    if (!scope) {
      scope = new Map()
      const rows =
        runId === null
          ? this.stmt(this.history, 'SELECT * FROM observations WHERE run_id IS NULL').iterate()
          : this.stmt(this.history, 'SELECT * FROM observations WHERE run_id = ?').iterate(runId)
      for (const o of rows as IterableIterator<Row>) {
        const fp = fingerprint(this.cols.observations.filter((c) => c !== 'id').map((c) => o[c]))
        scope.set(fp, o.id as number)
        this.histObsFp.set(o.id as number, fp)
      }
      this.historyObs.set(runId ?? '', scope)
    }
    return scope
  }

  /** An attempt's content: its columns but the ids, and its observation by content. */
  private attemptFp(a: Row, obsFps: Map<number, string>, db: Db): string {
    const oid = a.observation_id as number | null
    let ofp: string | null = null
    if (oid !== null) {
      ofp = obsFps.get(oid) ?? null
      if (ofp === null) {
        const o = this.stmt(db, 'SELECT * FROM observations WHERE id = ?').get(oid) as Row | undefined
        ofp = o ? fingerprint(this.cols.observations.filter((c) => c !== 'id').map((c) => o[c])) : `missing ${oid}`
        obsFps.set(oid, ofp)
      }
    }
    return fingerprint([
      ...this.cols.attempts.filter((c) => c !== 'id' && c !== 'observation_id').map((c) => a[c]),
      ofp,
    ])
  }

  private insertAttempt(a: Row): void {
    const oid = a.observation_id as number | null
    let mapped: number | null = null
    if (oid !== null) {
      const o = this.stmt(this.source, 'SELECT * FROM observations WHERE id = ?').get(oid) as Row | undefined
      // A dangling reference stays dangling rather than pointing at another observation.
      mapped = o ? this.observation(o) : null
    }
    this.insertRow(
      'attempts',
      this.cols.attempts.filter((c) => c !== 'id'),
      { ...a, observation_id: mapped },
    )
    this.counts.attempts++
  }

  private insertRow(table: string, cols: string[], row: Row): number {
    const r = this.stmt(
      this.history,
      `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    ).run(...cols.map((c) => row[c]))
    return Number(r.lastInsertRowid)
  }
}

const TABLES = ['runs', 'attempts', 'observations', 'certificates'] as const

/**
 * Every row of a source, checked before anything is written: the types of its columns, the JSON
 * columns against their schemas (src/store/schemas.ts) and the size limits. The first row that
 * fails refuses the whole source (STORE_CORRUPT naming the table, the row and the column), so a
 * database from another rig can never put into the history a row a report could not read.
 */
export function checkSource(source: Db, name: string): void {
  for (const table of TABLES) {
    let rows: IterableIterator<Row>
    try {
      rows = source.prepare(`SELECT rowid AS "rowid:", * FROM ${table}`).iterate() as IterableIterator<Row>
    } catch (err) {
      throw new AppError('STORE_CORRUPT', `${name}: table ${table} cannot be read (${(err as Error).message})`, {
        cause: err,
      })
    }
    for (const row of rows) {
      const p = rowProblem(table, row)
      if (!p) continue
      throw new AppError(
        'STORE_CORRUPT',
        `${name}: table ${table}, ${rowName(table, row)}, column ${p.column} ${p.problem}; nothing was merged, the history was left unchanged`,
      )
    }
  }
}

/** A row as a message names it: its id, or its rowid when the id itself is what is wrong. */
function rowName(table: (typeof TABLES)[number], row: Row): string {
  const key = table === 'certificates' ? 'sha256' : 'id'
  const id = row[key]
  if (typeof id === 'number') return `row id ${id}`
  if (typeof id === 'string' && id.length <= 80 && /^[\x20-\x7e]*$/.test(id))
    return table === 'runs' ? `run ${JSON.stringify(id)}` : `${key} ${id}`
  return `rowid ${String(row['rowid:'])}`
}

/**
 * The tables a source holds are the ones this tlsmatrix writes, with the columns it knows: a file
 * whose schema version says one thing and whose tables say another is refused before its rows
 * are read. Columns the store does not know (or lacks) are named.
 */
export function checkShape(db: Db, name: string): void {
  for (const table of TABLES) {
    const have = columns(db, table)
    const want = knownColumns(table)
    const missing = want.filter((c) => !have.includes(c))
    const extra = have.filter((c) => !want.includes(c))
    const type = db.prepare('SELECT type FROM sqlite_master WHERE name = ?').pluck().get(table)
    if (type !== 'table')
      throw new AppError(
        'STORE_CORRUPT',
        `${name} has no table ${table}${typeof type === 'string' && type ? ` (a ${type} of that name)` : ''}: not a tlsmatrix database of a known schema`,
      )
    if (missing.length || extra.length)
      throw new AppError(
        'STORE_CORRUPT',
        `${name}: table ${table} ${[
          missing.length ? `lacks ${missing.join(', ')}` : '',
          extra.length ? `has columns this tlsmatrix does not know (${extra.slice(0, 5).join(', ')})` : '',
        ]
          .filter(Boolean)
          .join(' and ')}: not the schema its version says`,
      )
  }
}

function columns(db: Db, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as Array<{ name: string }>).map(
    (r) => r.name,
  )
}

function same(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  return a === b
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((x, i) => x === b[i])
}

function fingerprint(values: readonly unknown[]): string {
  const h = createHash('sha256')
  for (const v of values) {
    // A length prefix keeps values from running together.
    const text = typedText(v)
    h.update(`${text.length}:${text}`)
  }
  return h.digest('hex')
}

/** A value with its kind, so null, 1 and '1' differ. */
function typedText(v: unknown): string {
  if (v === null || v === undefined) return 'n'
  if (Buffer.isBuffer(v)) return `b${v.toString('base64')}`
  if (typeof v === 'number' || typeof v === 'bigint') return `i${v}`
  // SQLite gives only strings past here; JSON keeps anything else from reading as [object Object].
  return `s${typeof v === 'string' ? v : JSON.stringify(v)}`
}
