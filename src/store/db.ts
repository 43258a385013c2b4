import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { AppError } from '../core/errors.js'
import { MIGRATIONS } from './migrations.js'

export type Db = Database.Database

/**
 * Opens (creating if needed) and migrates the database. Failures become STORE_* errors that
 * say what to do, because the user at 2 a.m. sees only this message.
 */
export function openDb(path: string, opts: { busyTimeoutMs?: number } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
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
    return db
  } catch (err) {
    db.close()
    throw err instanceof AppError ? err : storeError(err, path)
  }
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
