import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { isAppError } from '../../src/core/errors.js'
import { loadProfile } from '../../src/families/index.js'
import { checkWritable, openDb, RunStore } from '../../src/store/index.js'
import { testIo } from '../helpers/io.js'
import { closedPort } from '../helpers/lab.js'
import { attempt, runRow } from './learn-fixture.js'

const dir = () => mkdtempSync(join(tmpdir(), 'tlsmatrix-dbdamage-'))

/** A history of two complete runs, 150 attempts each: enough pages that one can be damaged in the middle. */
async function history(): Promise<string> {
  const path = join(dir(), 'history.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  const profile = await loadProfile('spwf04sa-1.1.0')
  for (const [i, id] of ['r1', 'r2'].entries()) {
    const device = runRow(id).devices[0]!
    runs.createRun(
      runRow(id, { startedAt: `2026-11-0${i + 1}T00:00:00.000Z`, devices: [device], profiles: { d: profile } }),
    )
    for (let t = 0; t < 150; t++) runs.recordAttempt(attempt(id, `t${t}.test:443`))
  }
  db.close()
  return path
}

/**
 * 8 KB of bytes that are no page (a fixed pseudo-random pattern, so the test is the same every
 * time) written over two leaf pages of the attempts table in the middle of the file, as a disk or
 * a copy can damage it: the header is intact, SQLite finds it only when it reads those pages.
 */
function damage(path: string): void {
  const db = new Database(path, { readonly: true })
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const leaves = (
    db
      .prepare("SELECT pageno FROM dbstat WHERE name = 'attempts' AND pagetype = 'leaf' ORDER BY pageno")
      .all() as Array<{
      pageno: number
    }>
  ).map((r) => r.pageno)
  db.close()
  assert.ok(leaves.length >= 4, `only ${leaves.length} leaf pages`)
  const page = leaves[Math.floor(leaves.length / 2)]!
  const bytes = readFileSync(path)
  let x = 0x12345678
  for (let i = 0; i < 8192; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[(page - 1) * pageSize + i] = x >>> 24
  }
  writeFileSync(path, bytes)
  const check = new Database(path, { readonly: true })
  assert.notEqual((check.pragma('quick_check(1)') as Array<{ quick_check: string }>)[0]!.quick_check, 'ok')
  check.close()
  // Read-only connections to a WAL file leave an empty -wal/-shm behind: the damaged file is alone, as a user would have it.
  for (const f of [`${path}-wal`, `${path}-shm`]) rmSync(f, { force: true })
  assert.deepEqual(readdirSync(dirname(path)), ['history.db'])
}

async function runArgs(db: string): Promise<string[]> {
  const hosts = join(dirname(db), 'one.txt')
  const port = await closedPort()
  writeFileSync(hosts, `a.test:${port}\n`)
  return ['run', '--hosts', hosts, '--device', 'emu:spwf04sa-1.1.0', '--resolve', `a.test:${port}:127.0.0.1`]
}

test('run refuses a database damaged in the middle (STORE_CORRUPT, exit 2) before it opens a device, and writes nothing', async () => {
  const path = await history()
  damage(path)
  const bytes = readFileSync(path)
  const listing = readdirSync(dirname(path)).sort()
  const io = testIo({ inProcess: true })
  const code = await run([...(await runArgs(path)), '--db', path], io)
  assert.equal(code, 2, io.err())
  assert.match(io.err(), /STORE_CORRUPT: .*history\.db is damaged \(SQLite's check found: .*page.*move it aside/)
  // Nothing announced, nothing opened, nothing written.
  assert.doesNotMatch(io.err(), /opening|run \d{8}-/)
  assert.deepEqual(readFileSync(path), bytes)
  assert.deepEqual(readdirSync(dirname(path)).sort(), [...listing, 'one.txt'].sort())
})

test('report on a database damaged in the middle is STORE_CORRUPT (exit 2) with what to do, not INTERNAL', async () => {
  const path = await history()
  damage(path)
  const io = testIo()
  const code = await run(['report', '--db', path, '--out', join(dirname(path), 'out')], io)
  assert.equal(code, 2, io.err())
  assert.match(io.err(), /STORE_CORRUPT: .*history\.db is damaged \(database disk image is malformed\).*move it aside/)
  assert.doesNotMatch(io.err(), /INTERNAL/)
})

test('every statement of an opened store meets damage as STORE_CORRUPT: reads, iterators and transactions', async () => {
  const path = await history()
  damage(path)
  const db = openDb(path)
  try {
    const corrupt = (err: unknown) => isAppError(err, 'STORE_CORRUPT') && /history\.db is damaged/.test(String(err))
    assert.throws(() => db.prepare('SELECT count(*) FROM attempts WHERE length(lines) >= 0').get(), corrupt)
    assert.throws(() => [...db.prepare('SELECT * FROM attempts').raw(true).iterate()], corrupt)
    assert.throws(() => db.exec('UPDATE attempts SET final = final'), corrupt)
    assert.throws(() => db.transaction(() => db.prepare('DELETE FROM attempts').run()).immediate(), corrupt)
    // What is not damage (a bug of ours) passes as SQLite said it.
    assert.throws(
      () => db.prepare('SELECT nope FROM attempts'),
      (err) => !isAppError(err) && /no such column/.test(String(err)),
    )
  } finally {
    db.close()
  }
})

test('resolve refuses a damaged database too, before it contacts anything', async () => {
  const path = await history()
  damage(path)
  const bytes = readFileSync(path)
  const hosts = join(dirname(path), 'one.txt')
  writeFileSync(hosts, 'a.test:1\n')
  const io = testIo()
  assert.equal(await run(['resolve', '--hosts', hosts, '--resolve', 'a.test:1:127.0.0.1', '--db', path], io), 2)
  assert.match(io.err(), /STORE_CORRUPT: .*is damaged/)
  assert.deepEqual(readFileSync(path), bytes)
})

/** Another process that holds the database's write lock (a sqlite3 shell in `BEGIN EXCLUSIVE`), until killed. */
async function holder(path: string): Promise<ChildProcess> {
  const code = `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(path)}); d.exec('BEGIN EXCLUSIVE'); console.log('held'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve())
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)))
  })
  return child
}

test(
  'run on a database another process holds locked is refused up front (STORE_LOCKED, exit 2): no run id, no device, the holder named',
  { timeout: 60_000 },
  async () => {
    const path = await history()
    const child = await holder(path)
    try {
      const io = testIo({ inProcess: true })
      const code = await run([...(await runArgs(path)), '--db', path], io)
      assert.equal(code, 2, io.err())
      assert.match(
        io.err(),
        new RegExp(
          `STORE_LOCKED: .*history\\.db is locked by another process \\(process ${child.pid}: .*node -e const D = require.*\\), which kept its write lock for 5 s\\. Nothing was run`,
        ),
      )
      assert.doesNotMatch(io.err(), /opening|run \d{8}-/)
    } finally {
      child.kill()
      await new Promise((r) => child.once('exit', r))
    }
    const db = new Database(path, { readonly: true })
    assert.deepEqual(
      (db.prepare('SELECT id FROM runs ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id),
      ['r1', 'r2'],
    )
    db.close()
  },
)

test('checkWritable takes and gives back the write lock: free afterwards, and a held one is STORE_LOCKED', async () => {
  const path = await history()
  checkWritable(path)
  const other = new Database(path)
  other.exec('BEGIN IMMEDIATE')
  assert.throws(
    () => checkWritable(path, { busyTimeoutMs: 50 }),
    (err) =>
      isAppError(err, 'STORE_LOCKED') &&
      /locked by another process, which kept its write lock .*Nothing was run/.test((err as Error).message),
  )
  other.exec('ROLLBACK')
  other.close()
  checkWritable(path)
  // A new path is not created by the check.
  const fresh = join(dir(), 'new.db')
  checkWritable(fresh)
  assert.deepEqual(readdirSync(dirname(fresh)), [])
})
