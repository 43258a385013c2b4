import Database from 'better-sqlite3'
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { AppError, isAppError } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
import { termSafe, truncate } from '../core/sanitize.js'
import { MIGRATIONS } from './migrations.js'

export type Db = Database.Database

const DEFAULT_BUSY_MS = 5000

/**
 * Opens (creating if needed) and migrates the database. Failures become STORE_* errors that
 * say what to do, because the user at 2 a.m. sees only this message. A file that is refused
 * is left byte-for-byte unchanged, with no -wal/-shm beside it: it is inspected first and
 * opened for writing only once accepted.
 */
export function openDb(path: string, opts: { busyTimeoutMs?: number } = {}): Db {
  const timeout = opts.busyTimeoutMs ?? DEFAULT_BUSY_MS
  if (path !== ':memory:') {
    inspectDb(path, { busyTimeoutMs: timeout })
    prepareParent(path)
  }
  let db: Db
  try {
    // The busy timeout is set by the constructor, before any statement that takes a lock.
    db = new Database(path, { timeout })
  } catch (err) {
    throw storeError(err, path)
  }
  try {
    db.pragma('foreign_keys = ON')
    try {
      migrate(db, path)
    } catch (err) {
      throw migrationError(err, path)
    }
    setWal(db, timeout)
    db.pragma('synchronous = NORMAL')
    return guarded(db, path)
  } catch (err) {
    db.close()
    throw err instanceof AppError ? err : storeError(err, path)
  }
}

/** `PRAGMA application_id` of a tlsmatrix database ("tlsm"), so another program's SQLite file is told apart. */
export const APPLICATION_ID = 0x746c736d
const SQLITE_MAGIC = 'SQLite format 3\0'

/** What decides whether a file is ours: read before anything is written, and again under the write lock. */
interface Identity {
  appId: number
  version: number
  /** null: not read (the header decided). */
  tables: string[] | null
}

/**
 * Checks, without creating or changing any file, that --db is a new path, an empty file or a
 * tlsmatrix database this version can use; throws the STORE_* error otherwise. Commands call it
 * before they take anything (devices), so a refused --db is reported first.
 */
export function inspectDb(path: string, opts: { busyTimeoutMs?: number } = {}): void {
  let size: number
  try {
    const st = statSync(path)
    if (st.isDirectory()) throw new AppError('STORE_UNUSABLE', `--db ${path} is a directory; give a file path`)
    size = st.size
  } catch (err) {
    if (err instanceof AppError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code === 'ENOTDIR')
      throw new AppError(
        'STORE_UNUSABLE',
        `--db ${path}: cannot create its directory ${dirname(path)} (a part of it is a file)`,
        { cause: err },
      )
    throw new AppError('STORE_UNUSABLE', `--db ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (size === 0) return
  const head = Buffer.alloc(100)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, head, 0, 100, 0)
  } finally {
    closeSync(fd)
  }
  if (head.subarray(0, 16).toString('latin1') !== SQLITE_MAGIC) {
    throw new AppError(
      'STORE_CORRUPT',
      `${path} is not a tlsmatrix database or is corrupt (not an SQLite file); move it aside, a new one will be created`,
    )
  }
  const wal = head[18] === 2 || head[19] === 2
  const appId = head.readInt32BE(68)
  // Ours, or tagged by another program: the header says enough, and a large database is not read.
  if (appId === APPLICATION_ID || (appId !== 0 && wal)) {
    accept(path, { appId, version: head.readInt32BE(60), tables: null })
    return
  }
  let probe: Db
  try {
    probe =
      wal || head[19] === 2
        ? walCopy(path)
        : new Database(path, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_MS })
  } catch (err) {
    throw storeError(err, path)
  }
  let id: Identity
  try {
    id = identityOf(probe)
  } catch (err) {
    throw storeError(err, path)
  } finally {
    probe.close()
  }
  accept(path, id)
}

/**
 * A WAL-mode file opened by SQLite, even read-only, gets -shm and -wal files that stay behind;
 * its identity is read from an in-memory copy instead, marked as rollback-journal (header bytes
 * 18-19) so SQLite reads it without those files. What only the -wal holds is checked again
 * under the write lock once the file is accepted.
 */
function walCopy(path: string): Db {
  const bytes = readFileSync(path)
  bytes[18] = 1
  bytes[19] = 1
  return new Database(bytes, { readonly: true })
}

function identityOf(db: Db): Identity {
  return {
    appId: db.pragma('application_id', { simple: true }) as number,
    version: db.pragma('user_version', { simple: true }) as number,
    tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(
      (r) => r.name,
    ),
  }
}

/** Only a new or empty database or a tlsmatrix one this version knows is used. */
function accept(path: string, id: Identity): void {
  // Databases made before tlsmatrix set an application_id are recognised by their tables.
  const tables = id.tables ?? []
  const legacy = id.appId === 0 && id.version >= 1 && tables.includes('certificates') && tables.includes('observations')
  if (id.appId === APPLICATION_ID || legacy) {
    if (id.version < 0 || (id.appId === APPLICATION_ID && id.version === 0 && tables.length > 0)) {
      throw new AppError(
        'STORE_CORRUPT',
        `${path} says schema version ${id.version}, which no tlsmatrix wrote${tables.length ? ` (it holds tables ${tables.slice(0, 5).join(', ')})` : ''}; it was left unchanged. Give a new path or a tlsmatrix database.`,
      )
    }
    if (id.version > MIGRATIONS.length) {
      throw new AppError(
        'STORE_TOO_NEW',
        `${path} has schema version ${id.version}; this tlsmatrix knows up to ${MIGRATIONS.length}. Upgrade tlsmatrix or use another --db. It was left unchanged.`,
      )
    }
    return
  }
  if (id.appId === 0 && tables.length === 0 && id.version === 0) return
  if (id.appId === 0 && tables.length === 0) {
    throw new AppError(
      'STORE_FOREIGN',
      `--db ${path} is not a tlsmatrix database: an SQLite file with no tables but user_version ${id.version} (another program's); it was left unchanged. Give a new path or a tlsmatrix database.`,
    )
  }
  throw new AppError(
    'STORE_FOREIGN',
    `--db ${path} is another program's SQLite database (application_id ${id.appId}${id.tables ? `, tables ${tables.slice(0, 5).join(', ') || 'none'}${tables.length > 5 ? ', …' : ''}` : ''}); it was left unchanged. Give a new path or a tlsmatrix database.`,
  )
}

function prepareParent(path: string): void {
  try {
    makeDir(dirname(path))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new AppError(
      'STORE_UNUSABLE',
      `--db ${path}: cannot create its directory ${dirname(path)} (${code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of it is a file' : (err as Error).message})`,
      { cause: err },
    )
  }
}

/**
 * The check and every migration run in one IMMEDIATE transaction: of several processes creating
 * the same new database at once, one migrates and the others wait (busy timeout), then find it
 * done. The identity is read again under the lock, since the file may have changed since it was
 * inspected; a refusal here rolls back, leaving the file as it was.
 */
function migrate(db: Db, path: string): void {
  // Already current: no write lock is needed (a long write elsewhere does not hold this open up).
  const now = identityOf(db)
  if (now.appId === APPLICATION_ID && now.version === MIGRATIONS.length) return
  db.transaction(() => {
    accept(path, identityOf(db))
    const version = db.pragma('user_version', { simple: true }) as number
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!)
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`)
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID)
      db.pragma(`application_id = ${APPLICATION_ID}`)
  }).immediate()
}

/**
 * A migration that fails on a file that passed the identity check: its tables are not those of
 * the schema version it claims (made or edited by hand, or by another program). The transaction
 * rolled back, so the file is as it was. Locks stay STORE_LOCKED.
 */
function migrationError(err: unknown, path: string): AppError {
  if (isAppError(err)) return err
  const mapped = storeError(err, path)
  if (mapped.code !== 'INTERNAL') return mapped
  return new AppError(
    'STORE_CORRUPT',
    `${path}: its tables do not match the schema version it says (${(err as Error).message}); it was left unchanged. Give a new path or a tlsmatrix database.`,
    { cause: err },
  )
}

/**
 * WAL needs a moment with no other connection reading; another process opening the same file
 * can hold that off, so a busy answer is retried (bounded) until the mode is WAL, which any of
 * them may have set.
 */
function setWal(db: Db, timeoutMs: number): void {
  if (db.memory) return
  const tries = Math.max(1, Math.ceil(timeoutMs / 10))
  for (let i = 0; ; i++) {
    try {
      db.pragma('journal_mode = WAL')
      return
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      if (!code.startsWith('SQLITE_BUSY') || i + 1 >= tries) throw err
      if ((db.pragma('journal_mode', { simple: true }) as string) === 'wal') return
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }
}
/** Maps SQLite failures to the store's stable codes; one of ours passes as it is. */
export function storeError(err: unknown, path: string): AppError {
  if (isAppError(err)) return err
  const code = (err as { code?: string }).code ?? ''
  const msg = (err as Error).message
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AppError(
      'STORE_LOCKED',
      `${path} is locked by ${lockHolder(path)} (${msg}); wait for it or use another --db`,
      {
        cause: err,
      },
    )
  }
  if (code.startsWith('SQLITE_CORRUPT')) return damaged(path, msg, err)
  if (code === 'SQLITE_NOTADB') {
    return new AppError(
      'STORE_CORRUPT',
      `${path} is not a tlsmatrix database or is corrupt (${msg}); move it aside, a new one will be created`,
      { cause: err },
    )
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    return new AppError(
      'STORE_UNUSABLE',
      `cannot open or write ${path} (${msg}); give a --db path in a writable directory`,
      { cause: err },
    )
  }
  return new AppError('INTERNAL', `${path}: ${msg}`, { cause: err })
}

/**
 * Every statement of an opened database, wherever a store runs it, has its SQLite failures
 * translated here: a page found damaged in the middle of a report, a lock met by any write, is
 * the STORE_* error that says what to do, not an INTERNAL "please report". What storeError does
 * not know (a constraint, a bad statement: a bug of ours) passes as it is.
 */
function guarded(db: Db, path: string): Db {
  const translate = (err: unknown): unknown => {
    if (isAppError(err)) return err
    const mapped = storeError(err, path)
    return mapped.code === 'INTERNAL' ? err : mapped
  }
  const call =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return fn(...a)
      } catch (err) {
        throw translate(err)
      }
    }
  const statement = (stmt: Database.Statement): Database.Statement => {
    const proxy: Database.Statement = new Proxy(stmt, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown
        if (typeof v !== 'function') return v
        const fn = (v as (...a: unknown[]) => unknown).bind(target)
        if (prop === 'iterate')
          return call((...a: unknown[]) => {
            const it = fn(...a) as IterableIterator<unknown>
            const next = call(() => it.next())
            const wrapped: IterableIterator<unknown> = {
              next,
              return: (value?: unknown) => it.return?.(value) ?? { done: true, value },
              [Symbol.iterator]: () => wrapped,
            }
            return wrapped
          })
        // pluck, raw, expand, bind, safeIntegers return the statement: keep it guarded.
        return call((...a: unknown[]) => {
          const out = fn(...a)
          return out === target ? proxy : out
        })
      },
    })
    return proxy
  }
  // Each way to run the transaction (BEGIN, BEGIN IMMEDIATE, …) meets the lock or the damage at its BEGIN or COMMIT.
  type Tx = Database.Transaction<(...a: unknown[]) => unknown>
  const transaction = (fn: (...a: unknown[]) => unknown): Tx => {
    const tx = db.transaction(fn)
    return Object.assign(
      call((...a: unknown[]) => tx(...a)),
      {
        default: call((...a: unknown[]) => tx.default(...a)),
        deferred: call((...a: unknown[]) => tx.deferred(...a)),
        immediate: call((...a: unknown[]) => tx.immediate(...a)),
        exclusive: call((...a: unknown[]) => tx.exclusive(...a)),
      },
    )
  }
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return call((sql: string) => statement(target.prepare(sql)))
      if (prop === 'transaction') return transaction
      const v = Reflect.get(target, prop, target) as unknown
      if (typeof v !== 'function') return v
      return call((v as (...a: unknown[]) => unknown).bind(target))
    },
  })
}

/**
 * A database a command is about to write into (inspectDb first), checked before any device is opened or any run id is
 * announced: it can be read to the end of its first damaged page (`quick_check(1)`, which stops
 * at the first error), and its write lock can be taken and released (waiting the busy timeout
 * for a writer that is only passing). A new path or an empty file has nothing to check.
 * Refused, the file is left as it was: nothing is written, and the connection's -wal/-shm go when it closes.
 */
export function checkWritable(path: string, opts: { busyTimeoutMs?: number } = {}): void {
  if (path === ':memory:') return
  inspectDb(path, opts)
  try {
    if (statSync(path).size === 0) return
  } catch {
    return
  }
  let db: Db
  try {
    db = new Database(path, { fileMustExist: true, timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_MS })
  } catch (err) {
    throw storeError(err, path)
  }
  const timeout = opts.busyTimeoutMs ?? DEFAULT_BUSY_MS
  // In rollback-journal mode an exclusive writer blocks reading too: either step can meet the lock.
  const locked = (err: unknown): AppError => {
    const e = storeError(err, path)
    if (e.code !== 'STORE_LOCKED') return e
    return new AppError(
      'STORE_LOCKED',
      `${path} is locked by ${lockHolder(path)}, which kept its write lock for ${timeout / 1000} s. Nothing was run: wait for it to finish (or to close the database), then run again, or use another --db.`,
      { cause: err },
    )
  }
  try {
    let problem: string | null
    try {
      const rows = db.pragma('quick_check(1)') as Array<{ quick_check: string }>
      problem = rows[0]?.quick_check === 'ok' ? null : rows.map((r) => r.quick_check).join('; ')
    } catch (err) {
      const e = locked(err)
      if (e.code !== 'STORE_CORRUPT') throw e
      problem = (err as Error).message
    }
    if (problem !== null) throw damaged(path, `SQLite's check found: ${problem}`)
    try {
      db.exec('BEGIN IMMEDIATE')
      db.exec('ROLLBACK')
    } catch (err) {
      throw locked(err)
    }
  } finally {
    db.close()
  }
}

/**
 * A tlsmatrix database damaged inside (found by a check or by a statement that met the page).
 * Nothing is written to it; the advice ends as that for a file that is not a database, which
 * merge's snapshot drops for a source.
 */
function damaged(path: string, problem: string, cause?: unknown): AppError {
  return new AppError(
    'STORE_CORRUPT',
    `${path} is damaged (${truncate(termSafe(problem.replace(/\s+/g, ' ').trim()), 200)}); nothing more is written to it, and the sqlite3 shell's .recover may save what it holds; move it aside, a new one will be created`,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * Who holds the write lock on a database, as far as this machine says (Linux's /proc/locks: the
 * POSIX locks SQLite takes on the file, or on its -shm in WAL mode): "another process (123: sqlite3 x.db)".
 * Elsewhere, or when the holder cannot be found, plainly "another process".
 */
export function lockHolder(path: string): string {
  const unknown = 'another process'
  let table: string
  const inodes = new Set<number>()
  try {
    table = readFileSync('/proc/locks', 'latin1')
    inodes.add(statSync(path).ino)
    try {
      inodes.add(statSync(`${path}-shm`).ino)
    } catch {
      // Not in WAL mode, or no connection open: the file's own locks say it.
    }
  } catch {
    return unknown
  }
  const pids = new Set<number>()
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1234 fe:00:2411562 120 120"; a waiting lock ("1: -> POSIX …") holds nothing.
    const m = /^\d+:\s+POSIX\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line)
    if (!m || !inodes.has(Number(m[2]))) continue
    const pid = Number(m[1])
    if (pid !== process.pid) pids.add(pid)
  }
  if (pids.size === 0) return unknown
  const names = [...pids].slice(0, 3).map((pid) => {
    let cmd = ''
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ')
    } catch {
      // Gone since, or another user's.
    }
    return cmd ? `process ${pid}: ${truncate(termSafe(cmd), 80)}` : `process ${pid}`
  })
  return `another process (${names.join('; ')})`
}
