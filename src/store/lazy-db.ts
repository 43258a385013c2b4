import { openDb, type Db } from './db.js'

/**
 * A database opened on its first use. A run takes its devices before it records anything, so a
 * run refused there (a device in use) creates no database file. The path is inspected by the
 * caller first (checkWritable: ours, not damaged, not locked), so a refused --db is still reported
 * before any device is touched.
 */
export function lazyDb(path: string, open: (path: string) => Db = openDb): { db: Db; close(): void } {
  let real: Db | null = null
  const get = (): Db => (real ??= open(path))
  const db = new Proxy({} as Db, {
    get(_target, prop) {
      const d = get()
      const v = Reflect.get(d, prop, d) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(d) : v
    },
  })
  return { db, close: () => real?.close() }
}
