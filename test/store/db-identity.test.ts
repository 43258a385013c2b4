import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { isAppError } from '../../src/core/errors.js'
import { APPLICATION_ID, openDb } from '../../src/store/db.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { testIo } from '../helpers/io.js'

const dir = () => mkdtempSync(join(tmpdir(), 'tlsmatrix-dbid-'))

test("--db pointing at another program's SQLite file is refused (exit 2) and left byte-for-byte unchanged", async () => {
  const d = dir()
  const path = join(d, 'other.sqlite')
  const other = new Database(path)
  other.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada')")
  other.close()
  const before = readFileSync(path)
  const hosts = join(d, 'hosts.txt')
  writeFileSync(hosts, 'a.example\n')
  const io = testIo()
  assert.equal(await run(['resolve', '--hosts', hosts, '--db', path], io), 2)
  assert.match(io.err(), /STORE_FOREIGN: .*another program's SQLite database .*contacts.*left unchanged/)
  assert.deepEqual(readFileSync(path), before)
  // Another program's id is refused too, even with tlsmatrix-looking tables.
  const tagged = join(d, 'tagged.sqlite')
  const t = new Database(tagged)
  t.pragma('application_id = 1234')
  t.exec('CREATE TABLE certificates (x); CREATE TABLE observations (y)')
  t.close()
  assert.throws(
    () => openDb(tagged),
    (err) => isAppError(err, 'STORE_FOREIGN'),
  )
})

test('an empty file, a new path and a tlsmatrix database are used; new ones carry the tlsmatrix application_id', () => {
  const d = dir()
  const empty = join(d, 'empty.db')
  writeFileSync(empty, '')
  for (const path of [empty, join(d, 'new.db')]) {
    const db = openDb(path)
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID)
    db.close()
    openDb(path).close()
  }
  // A database made before tlsmatrix set its application_id is still recognised by its tables.
  const legacy = join(d, 'legacy.db')
  const raw = new Database(legacy)
  raw.exec(MIGRATIONS[0]!)
  raw.pragma('user_version = 1')
  raw.close()
  const db = openDb(legacy)
  assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID)
  db.close()
})

test('a --db that is a directory, or whose parent is a file, is a clear usage error (exit 2), no stack trace', async () => {
  const d = dir()
  const hosts = join(d, 'hosts.txt')
  writeFileSync(hosts, 'a.example\n')
  const asDir = join(d, 'adir')
  mkdirSync(asDir)
  const io = testIo()
  assert.equal(await run(['resolve', '--hosts', hosts, '--db', asDir], io), 2)
  assert.match(io.err(), /STORE_UNUSABLE: --db .*adir is a directory/)
  const io2 = testIo()
  assert.equal(await run(['resolve', '--hosts', hosts, '--db', join(hosts, 'x.db')], io2), 2)
  assert.match(io2.err(), /STORE_UNUSABLE: .*a part of it is a file/)
  assert.doesNotMatch(io.err() + io2.err(), /\n\s+at /, 'no stack trace')
})

test('a --db SQLite cannot create (a directory that takes no files, /proc) is a usage error (exit 2), not INTERNAL', async () => {
  const d = dir()
  const hosts = join(d, 'hosts.txt')
  writeFileSync(hosts, 'a.example\n')
  const io = testIo()
  assert.equal(await run(['resolve', '--hosts', hosts, '--db', '/proc/tlsmatrix-test.db'], io), 2, io.err())
  assert.match(io.err(), /STORE_UNUSABLE: cannot open or write \/proc\/tlsmatrix-test\.db .*writable directory/)
  assert.doesNotMatch(io.err(), /INTERNAL|\n\s+at /)
})
