import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import Database from 'better-sqlite3'
import { DEFAULT_HELLO, parseCertificate, pemBlocks, type Observation } from '../../src/chain/index.js'
import { isAppError } from '../../src/core/errors.js'
import { ObservationStore, openDb } from '../../src/store/index.js'
import { MIGRATIONS } from '../../src/store/migrations.js'

const tmp = () => join(mkdtempSync(join(tmpdir(), 'tlsmatrix-db-')), 'x.db')
const roots = rootCertificates.slice(0, 3).map((p) => parseCertificate(pemBlocks(p)[0]!))

function observation(target: string, error: Observation['error'] = null): Observation {
  return {
    target,
    host: target.split(':')[0]!,
    port: 443,
    sni: 'example.com',
    observedAt: new Date().toISOString(),
    ip: '192.0.2.1',
    protocol: 'TLSv1.2',
    cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    capture: 'wire',
    error,
    timings: { dnsMs: 1, connectMs: 1, handshakeMs: 2, totalMs: 4 },
    served: roots.slice(0, 2),
    chainHash: 'abc',
    anchors: [{ cert: roots[2]!, source: 'store', kind: 'root', paths: [[roots[0]!.info.sha256]], match: ['path'] }],
    untrustedAnchors: [],
    aia: { fetched: [], errors: [] },
  }
}

test('migrates a new file to the current schema in WAL mode', () => {
  const path = tmp()
  const db = openDb(path)
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length)
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  db.close()
  openDb(path).close() // idempotent on reopen
})

test('stores each certificate once and one row per observation, served order kept', () => {
  const path = tmp()
  const db = openDb(path)
  const store = new ObservationStore(db, path)
  store.record(observation('a.example:443'), DEFAULT_HELLO)
  store.record(observation('b.example:443', { code: 'timeout', message: 'slow' }), DEFAULT_HELLO)
  assert.equal((db.prepare('SELECT count(*) n FROM certificates').get() as { n: number }).n, 3)
  const rows = db.prepare('SELECT target, served, error_code FROM observations ORDER BY id').all() as Array<{
    target: string
    served: string
    error_code: string | null
  }>
  assert.deepEqual(
    rows.map((r) => r.target),
    ['a.example:443', 'b.example:443'],
  )
  assert.deepEqual(JSON.parse(rows[0]!.served), [roots[0]!.info.sha256, roots[1]!.info.sha256])
  assert.equal(rows[1]!.error_code, 'timeout')
  const der = db.prepare('SELECT der FROM certificates WHERE sha256 = ?').get(roots[0]!.info.sha256) as { der: Buffer }
  assert.deepEqual(der.der, roots[0]!.der)
  db.close()
})

test('a database locked by another writer gives STORE_LOCKED, not a crash', () => {
  const path = tmp()
  openDb(path).close()
  const holder = new Database(path)
  holder.exec('BEGIN IMMEDIATE')
  const db = openDb(path, { busyTimeoutMs: 50 })
  const store = new ObservationStore(db, path)
  assert.throws(
    () => store.record(observation('a.example:443'), DEFAULT_HELLO),
    (err) => isAppError(err, 'STORE_LOCKED') && /locked by another process/.test((err as Error).message),
  )
  holder.exec('ROLLBACK')
  store.record(observation('a.example:443'), DEFAULT_HELLO)
  holder.close()
  db.close()
})

test('a file that is not a database gives STORE_CORRUPT with what to do', () => {
  const path = tmp()
  writeFileSync(path, 'this is not sqlite'.repeat(200))
  assert.throws(
    () => openDb(path),
    (err) => isAppError(err, 'STORE_CORRUPT') && /move it aside/.test((err as Error).message),
  )
})

test('a database from a newer tlsmatrix is refused, not downgraded', () => {
  const path = tmp()
  openDb(path).close()
  const raw = new Database(path)
  raw.pragma('user_version = 999')
  raw.close()
  assert.throws(
    () => openDb(path),
    (err) => isAppError(err, 'STORE_TOO_NEW'),
  )
  // With no tlsmatrix tables or id, a high user_version is another program's file, not a newer tlsmatrix's.
  const plain = tmp()
  const p = new Database(plain)
  p.pragma('user_version = 999')
  p.close()
  assert.throws(
    () => openDb(plain),
    (err) => isAppError(err, 'STORE_FOREIGN'),
  )
})
