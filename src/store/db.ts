import Database from 'better-sqlite3'
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { AppError } from '../core/errors.js'
import { MIGRATIONS } from './migrations.js'

export type Db = Database.Database

/**
 * Opens (creating if needed) and migrates the database. Failures become STORE_* errors that
 * say what to do, because the user at 2 a.m. sees only this message.
 */
export function openDb(path: string, opts: { busyTimeoutMs?: number } = {}): Db {
  if (path !== ':memory:') {
    prepareParent(path)
    checkIdentity(path)
  }
  let db: Db
  try {
    db = new Database(path, { timeout: opts.busyTimeoutMs ?? 5000 })
  } catch (err) {
    throw storeError(err, path)
  }
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrate(db, path)
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`)
    return db
  } catch (err) {
    db.close()
    throw err instanceof AppError ? err : storeError(err, path)
  }
}

/** `PRAGMA application_id` of a tlsmatrix database ("tlsm"), so another program's SQLite file is told apart. */
export const APPLICATION_ID = 0x746c736d
const SQLITE_MAGIC = 'SQLite format 3\0'

function prepareParent(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new AppError('STORE_UNUSABLE', `--db ${path}: cannot create its directory ${dirname(path)} (${code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of it is a file' : (err as Error).message})`, { cause: err })
  }
}

/**
 * Only a new path, an empty file or a tlsmatrix database is used. Anything else is refused
 * before SQLite writes a byte to it (setting WAL mode or migrating would change it).
 */
function checkIdentity(path: string): void {
  let size: number
  try {
    const st = statSync(path)
    if (st.isDirectory()) throw new AppError('STORE_UNUSABLE', `--db ${path} is a directory; give a file path`)
    size = st.size
  } catch (err) {
    if (err instanceof AppError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new AppError('STORE_UNUSABLE', `--db ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (size === 0) return
  const head = Buffer.alloc(16)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, head, 0, 16, 0)
  } finally {
    closeSync(fd)
  }
  if (head.toString('latin1') !== SQLITE_MAGIC) {
    throw new AppError('STORE_CORRUPT', `${path} is not a tlsmatrix database or is corrupt (not an SQLite file); move it aside, a new one will be created`)
  }
  let appId: number
  let tables: string[]
  let version: number
  const probe = new Database(path, { readonly: true, fileMustExist: true })
  try {
    appId = probe.pragma('application_id', { simple: true }) as number
    version = probe.pragma('user_version', { simple: true }) as number
    tables = (probe.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)
  } catch (err) {
    throw storeError(err, path)
  } finally {
    probe.close()
  }
  if (appId === APPLICATION_ID) return
  // Databases made before tlsmatrix set an application_id are recognised by their tables.
  const legacy = appId === 0 && version >= 1 && tables.includes('certificates') && tables.includes('observations')
  if (legacy || (appId === 0 && tables.length === 0)) return
  throw new AppError('STORE_FOREIGN', `--db ${path} is another program's SQLite database (application_id ${appId}, tables ${tables.slice(0, 5).join(', ') || 'none'}${tables.length > 5 ? ', …' : ''}); it was left unchanged. Give a new path or a tlsmatrix database.`)
}

function migrate(db: Db, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > MIGRATIONS.length) {
    throw new AppError('STORE_TOO_NEW', `${path} has schema version ${version}; this tlsmatrix knows up to ${MIGRATIONS.length}. Upgrade tlsmatrix or use another --db.`)
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    }).immediate()
  }
}

/** Maps SQLite failures to the store's stable codes. */
export function storeError(err: unknown, path: string): AppError {
  const code = (err as { code?: string }).code ?? ''
  const msg = (err as Error).message
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AppError('STORE_LOCKED', `${path} is locked by another process (${msg}); wait for it or use another --db`, { cause: err })
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new AppError('STORE_CORRUPT', `${path} is not a tlsmatrix database or is corrupt (${msg}); move it aside, a new one will be created`, { cause: err })
  }
  return new AppError('INTERNAL', `${path}: ${msg}`, { cause: err })
}
