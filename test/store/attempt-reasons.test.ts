import { test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { openDb, RunStore } from '../../src/store/index.js'

test('attempts written before reasons were typed read back with a typed reason, parsed once by the migration', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tlsmatrix-reasons-db-')), 'old.db')
  const old = new Database(path)
  for (const m of MIGRATIONS.slice(0, 2)) old.exec(m)
  old.pragma('user_version = 2')
  old
    .prepare(
      `INSERT INTO runs (id, started_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options) VALUES ('r', '', 'complete', '0', 'h', 'x', 'y', '[]', '{}')`,
    )
    .run()
  const ins =
    old.prepare(`INSERT INTO attempts (run_id, device, target, host, port, path, anchor_sha256, anchor_subject, anchor_source, try, final, outcome, class, note, lines, body_bytes, duration_ms, transcript, recorded_at)
    VALUES ('r', 'd', ?, 'h', 443, '/', ?, '', '', ?, ?, ?, ?, ?, '[]', 0, 0, '[]', '')`)
  // Every column as tlsmatrix wrote it: a CA's sha256 (every column is checked when read back).
  const CA = 'c'.repeat(64)
  ins.run('a:443', '-', 1, 1, 'not-run', null, 'no-anchor: no chain (timeout)')
  ins.run('b:443', CA, 1, 1, 'not-run', null, 'ca-too-large: 5000 bytes, the store takes 4092')
  ins.run('c:443', CA, 0, 0, 'not-run', null, 'device lost: 5 resets failed')
  ins.run('d:443', CA, 1, 0, 'fail', 'device', 'AT_TIMEOUT: no final answer to AT+S.HTTPGET=…')
  ins.run('e:443', CA, 2, 1, 'pass', null, null)
  old.close()

  const db = openDb(path)
  const rows = new RunStore(db, path).attempts('r')
  db.close()
  assert.deepEqual(
    rows.map((r) => [r.target, r.final, r.reason]),
    [
      ['a:443', true, { reason: 'no-anchor', detail: 'no chain (timeout)' }],
      ['b:443', true, { reason: 'ca-too-large', detail: '5000 bytes, the store takes 4092' }],
      ['c:443', false, { reason: 'device-lost', detail: '5 resets failed' }],
      ['d:443', false, { reason: 'link', detail: 'AT_TIMEOUT: no final answer to AT+S.HTTPGET=…' }],
      ['e:443', true, null],
    ],
  )
})
