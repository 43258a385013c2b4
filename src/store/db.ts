import Database from 'better-sqlite3'
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { AppError, isAppError } from '../core/errors.js'
import { makeDir } from '../core/make-dir.js'
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
    return db
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
/** Maps SQLite failures to the store's stable codes. */
export function storeError(err: unknown, path: string): AppError {
  const code = (err as { code?: string }).code ?? ''
  const msg = (err as Error).message
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AppError(
      'STORE_LOCKED',
      `${path} is locked by another process (${msg}); wait for it or use another --db`,
      { cause: err },
    )
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
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
