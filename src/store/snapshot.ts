import Database from 'better-sqlite3'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { AppError, isAppError } from '../core/errors.js'
import { inspectDb, openDb, storeError, type Db } from './db.js'
import { checkShape } from './merge.js'

/**
 * A consistent copy of a tlsmatrix database that another process may be writing (a run in
 * progress), taken with SQLite's backup API into `dir` and migrated there to the current schema:
 * the user's file is only read. A file that is missing, empty, corrupt, another program's or of
 * a newer schema is refused with its STORE_* code before anything is copied.
 */
export async function snapshotDb(path: string, dir: string, n: number): Promise<Db> {
  try {
    return await snapshot(path, dir, n)
  } catch (err) {
    // The store's messages speak of --db and of creating a new one: neither applies to a file to merge.
    if (!isAppError(err) || err.code === 'INTERNAL') throw err
    throw new AppError(
      err.code,
      err.message
        .replace(/^--db /, '')
        .replace(/; move it aside, a new one will be created$/, '')
        .replace(/ Give a new path or a tlsmatrix database\.$/, '')
        .replace(/ or use another --db\./, '.'),
      { cause: err },
    )
  }
}

async function snapshot(path: string, dir: string, n: number): Promise<Db> {
  let size: number
  try {
    size = statSync(path).size
  } catch (err) {
    throw new AppError(
      'STORE_UNUSABLE',
      `${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    )
  }
  if (size === 0) throw new AppError('STORE_FOREIGN', `${path} is empty: not a tlsmatrix database`)
  inspectDb(path)
  const copy = join(dir, `source-${n}.db`)
  let src: Db
  try {
    src = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 })
  } catch (err) {
    throw storeError(err, path)
  }
  try {
    // All remaining pages in one step: a writer between steps would restart the copy.
    await src.backup(copy, { progress: () => 0x7fffffff })
  } catch (err) {
    throw storeError(err, path)
  } finally {
    src.close()
  }
  checkIntact(copy, path)
  let db: Db
  try {
    db = openDb(copy)
  } catch (err) {
    throw isAppError(err) ? new AppError(err.code, err.message.split(copy).join(path), { cause: err }) : err
  }
  try {
    checkShape(db, path)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

/** A file whose header is ours can still be damaged further in: read all of it once. */
function checkIntact(copy: string, path: string): void {
  let db: Db | null = null
  try {
    db = new Database(copy, { fileMustExist: true })
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>
    if (rows.length !== 1 || rows[0]!.quick_check !== 'ok')
      throw new AppError(
        'STORE_CORRUPT',
        `${path} is corrupt (${rows
          .map((r) => r.quick_check)
          .slice(0, 3)
          .join('; ')})`,
      )
  } catch (err) {
    if (isAppError(err)) throw err
    throw storeError(err, path)
  } finally {
    db?.close()
  }
}
