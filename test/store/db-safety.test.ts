import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { isAppError } from '../../src/core/errors.js'
import { lockDevice } from '../../src/device/lock.js'
import { APPLICATION_ID, openDb } from '../../src/store/db.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { testIo } from '../helpers/io.js'

const OPENER = fileURLToPath(new URL('../helpers/db-opener.ts', import.meta.url))
const dir = () => mkdtempSync(join(tmpdir(), 'tlsmatrix-dbsafe-'))

test(
  'many processes creating one new --db at once all succeed, and the schema is made once',
  { timeout: 300_000 },
  async () => {
    const d = dir()
    const path = join(d, 'same.db')
    const go = join(d, 'go')
    const kids = Array.from({ length: 6 }, () =>
      spawn(process.execPath, [...process.execArgv, OPENER, path, go], { stdio: ['ignore', 'pipe', 'inherit'] }),
    )
    const lines = kids.map((k) => {
      const rl = createInterface({ input: k.stdout })
      const ready = new Promise<void>((r) => rl.once('line', () => r()))
      const result = new Promise<string>((r) => {
        let last = ''
        rl.on('line', (l) => {
          last = l
        })
        k.once('exit', (code) => r(`${code} ${last}`))
      })
      return { ready, result }
    })
    // Everyone is loaded and waiting: they open together.
    await Promise.all(lines.map((l) => l.ready))
    writeFileSync(go, '')
    const results = await Promise.all(lines.map((l) => l.result))
    for (const r of results) assert.equal(r, '0 ok')
    const db = new Database(path, { readonly: true })
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length)
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID)
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>
    ).map((r) => r.name)
    assert.deepEqual(tables, ['attempts', 'certificates', 'observations', 'runs'])
    db.close()
  },
)

/** Makes a file in its own directory; returns its path. */
function made(name: string, build: (db: Database.Database) => void, wal: boolean): string {
  const path = join(dir(), name)
  const db = new Database(path)
  if (wal) db.pragma('journal_mode = WAL')
  build(db)
  db.close()
  return path
}

function tlsmatrixDb(version: number, wal: boolean): string {
  const path = join(dir(), 'newer.db')
  openDb(path).close()
  const db = new Database(path)
  db.pragma(`journal_mode = ${wal ? 'WAL' : 'DELETE'}`)
  db.pragma(`user_version = ${version}`)
  db.close()
  return path
}

const cases: Array<{ what: string; path: () => string; code: 'STORE_TOO_NEW' | 'STORE_FOREIGN'; message: RegExp }> = [
  {
    what: 'a newer tlsmatrix database (rollback journal)',
    path: () => tlsmatrixDb(99, false),
    code: 'STORE_TOO_NEW',
    message: /schema version 99/,
  },
  {
    what: 'a newer tlsmatrix database (WAL)',
    path: () => tlsmatrixDb(99, true),
    code: 'STORE_TOO_NEW',
    message: /schema version 99/,
  },
  {
    what: 'an SQLite file with no tables and user_version 7',
    path: () => made('plain.db', (db) => db.pragma('user_version = 7'), false),
    code: 'STORE_FOREIGN',
    message: /not a tlsmatrix database.*user_version 7/,
  },
  {
    what: "another program's database in WAL mode",
    path: () =>
      made('other.db', (db) => db.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada')"), true),
    code: 'STORE_FOREIGN',
    message: /another program's SQLite database .*contacts/,
  },
]

for (const c of cases) {
  test(`${c.what} is refused (exit 2) and left byte-for-byte unchanged, with no -wal/-shm beside it`, async () => {
    const path = c.path()
    const folder = join(path, '..')
    const bytes = readFileSync(path)
    const listing = readdirSync(folder).sort()
    assert.deepEqual(listing, [path.slice(folder.length + 1)])
    assert.throws(
      () => openDb(path),
      (err) => isAppError(err, c.code) && c.message.test((err as Error).message),
    )
    assert.deepEqual(readFileSync(path), bytes)
    assert.deepEqual(readdirSync(folder).sort(), listing)
    // And through a command: the documented exit code, the same untouched file.
    const hosts = join(dir(), 'hosts.txt')
    writeFileSync(hosts, 'a.example\n')
    const io = testIo()
    assert.equal(await run(['resolve', '--hosts', hosts, '--db', path], io), 2, io.err())
    assert.match(io.err(), new RegExp(c.code))
    assert.deepEqual(readFileSync(path), bytes)
    assert.deepEqual(readdirSync(folder).sort(), listing)
  })
}

test('--resume with no database at --db is an input error (exit 2) and creates nothing', async () => {
  const d = dir()
  const path = join(d, 'new.db')
  const io = testIo()
  assert.equal(await run(['run', '--resume', 'nope', '--db', path], io), 2, io.err())
  assert.match(io.err(), /no database at .*new\.db/)
  assert.deepEqual(readdirSync(d), [])
})

test('a run refused because its device is in use (DEVICE_BUSY) leaves no database behind', async () => {
  // A port of our own, so the device URL is this test's alone.
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `tcp://127.0.0.1:${(server.address() as { port: number }).port}`
  const release = await lockDevice(url, 'holder-run')
  try {
    const d = dir()
    const hosts = join(d, 'hosts.txt')
    writeFileSync(hosts, 'a.example\n')
    const path = join(d, 'new.db')
    const io = testIo()
    assert.equal(await run(['run', '--hosts', hosts, '--device', url, '--db', path], io), 2, io.err())
    assert.match(io.err(), /DEVICE_BUSY: .*in use by run holder-run/)
    assert.equal(existsSync(path), false)
    assert.deepEqual(readdirSync(d), ['hosts.txt'])
  } finally {
    release()
    server.close()
  }
})
