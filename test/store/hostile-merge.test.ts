import { test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { loadProfile } from '../../src/families/index.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { knownColumns, LIMITS } from '../../src/store/schemas.js'
import { testIo } from '../helpers/io.js'
import { attempt, runRow } from './learn-fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-hostile-merge-'))

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo()
  const code = await run(args, io)
  return { code, out: io.out(), err: io.err() }
}

const DER = Buffer.from('3003020101', 'hex')
const SHA = createHash('sha256').update(DER).digest('hex')

/** A sound source from another rig: a survey with a profile snapshot, attempts, an observation, a certificate. */
async function goodSource(name: string, labels = ['d']): Promise<string> {
  const path = join(dir, name)
  const db = openDb(path)
  try {
    const runs = new RunStore(db, path)
    const profile = await loadProfile('spwf04sa-1.1.0')
    const device = runRow('x').devices[0]!
    runs.createRun(
      runRow(`run-${name}`, {
        rig: `rig-${name}`,
        devices: labels.map((label) => ({ ...device, label })),
        profiles: Object.fromEntries(labels.map((l) => [l, profile])),
        targets: [{ id: 'a.test:443', host: 'a.test', port: 443, path: '/', tags: [], expect: null, line: 1 }],
      }),
    )
    for (const label of labels) runs.recordAttempt(attempt(`run-${name}`, 'a.test:443', { device: label }))
    db.prepare(
      `INSERT INTO certificates (sha256, der, subject, issuer, serial, key_type, signature, not_before, not_after, is_ca, self_signed, first_seen)
       VALUES (?, ?, 'CN=Root', 'CN=Root', '01', 'rsa', 'sha256WithRSAEncryption', '2026-01-01', '2036-01-01', 1, 1, '2026-11-01')`,
    ).run(SHA, DER)
    db.prepare(
      `INSERT INTO observations (target, host, port, observed_at, hello, served, timings, anchors, aia_errors, run_id, chain_hash)
       VALUES ('a.test:443', 'a.test', 443, '2026-11-01T00:10:00.000Z', 'h', ?, '{"dnsMs":null,"connectMs":1,"handshakeMs":2,"totalMs":3}', ?, '[]', ?, 'c')`,
    ).run(
      JSON.stringify([SHA]),
      JSON.stringify([{ sha256: SHA, source: 'store', kind: 'root', match: ['path'], paths: [[SHA]] }]),
      `run-${name}`,
    )
  } finally {
    db.close()
  }
  return path
}

/** A copy of a sound source with `sql` run on it (as someone editing it by hand would). */
async function hostile(name: string, edit: (db: Database.Database) => void): Promise<string> {
  const path = await goodSource(name)
  const db = new Database(path)
  try {
    edit(db)
  } finally {
    db.close()
  }
  return path
}

/** The history's files, byte for byte (the database and any -wal beside it). */
function snapshot(path: string): Buffer[] {
  return [path, `${path}-wal`].map((p) => (existsSync(p) ? readFileSync(p) : Buffer.alloc(0)))
}

test('the store knows every column the migrations make: no column escapes the checks', () => {
  const db = new Database(':memory:')
  for (const m of MIGRATIONS) db.exec(m)
  for (const table of ['runs', 'attempts', 'observations', 'certificates'] as const) {
    const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map(
      (r) => r.name,
    )
    assert.deepEqual([...cols].sort(), [...knownColumns(table)].sort(), table)
  }
  db.close()
})

test('each hostile source is refused (STORE_CORRUPT, exit 2) naming table, row and column; the history stays byte-identical', async () => {
  const history = join(dir, 'history.db')
  const first = await cli('merge', await goodSource('sound.db'), '--into', history)
  assert.equal(first.code, 0, first.err)
  const huge = `[${Array.from({ length: Math.ceil(LIMITS.lines / 4) + 1 }, () => '"x"').join(',')}]`
  const cases: Array<{ name: string; edit: (db: Database.Database) => void; says: RegExp }> = [
    {
      name: 'profiles-not-json',
      edit: (db) => db.exec(`UPDATE runs SET profiles = '{"d": {"id": '`),
      says: /table runs, run "run-profiles-not-json\.db", column profiles is not JSON/,
    },
    {
      name: 'profile-without-tls',
      edit: (db) => db.exec(`UPDATE runs SET profiles = json_remove(profiles, '$.d.tls')`),
      says: /table runs, run "run-profile-without-tls\.db", column profiles is not what it must hold \(at \.d\.tls: /,
    },
    {
      name: 'devices-null',
      edit: (db) => db.exec(`UPDATE runs SET devices = 'null'`),
      says: /table runs, run "run-devices-null\.db", column devices is not what it must hold/,
    },
    {
      name: 'lines-not-json',
      edit: (db) => db.exec(`UPDATE attempts SET lines = '["HTTP/1.1 200 OK"'`),
      says: /table attempts, row id 1, column lines is not JSON/,
    },
    {
      name: 'lines-oversized',
      edit: (db) => db.prepare('UPDATE attempts SET lines = ?').run(huge),
      says: new RegExp(
        `table attempts, row id 1, column lines holds ${huge.length} characters, over the limit of ${LIMITS.lines}`,
      ),
    },
    {
      name: 'transcript-not-a-transcript',
      edit: (db) => db.exec(`UPDATE attempts SET transcript = '[{"dir": "sideways"}]'`),
      says: /table attempts, row id 1, column transcript is not what it must hold \(at \[0\]\.dir: /,
    },
    {
      name: 'port-text',
      edit: (db) => db.exec(`UPDATE attempts SET port = 'https'`),
      says: /table attempts, row id 1, column port holds "https", expected a port number/,
    },
    {
      name: 'outcome-forged',
      edit: (db) => db.exec(`UPDATE attempts SET outcome = 'trusted'`),
      says: /table attempts, row id 1, column outcome holds "trusted", expected one of pass, fail, not-run/,
    },
    {
      name: 'served-not-sha',
      edit: (db) => db.exec(`UPDATE observations SET served = '["constructor"]'`),
      says: /table observations, row id 1, column served is not what it must hold \(at \[0\]: expected a sha256/,
    },
    {
      name: 'cert-renamed',
      edit: (db) => db.exec(`UPDATE certificates SET sha256 = '${'f'.repeat(64)}'`),
      says: new RegExp(
        `table certificates, sha256 ${'f'.repeat(64)}, column sha256 is not the sha256 of the certificate in der`,
      ),
    },
    {
      name: 'version-negative',
      edit: (db) => db.pragma('user_version = -1'),
      says: /says schema version -1, which no tlsmatrix wrote/,
    },
    {
      name: 'version-zero-with-tables',
      edit: (db) => db.pragma('user_version = 0'),
      says: /says schema version 0, which no tlsmatrix wrote/,
    },
    {
      name: 'version-older-than-its-tables',
      edit: (db) => db.pragma('user_version = 3'),
      says: /its tables do not match the schema version it says \(duplicate column name: profiles\)/,
    },
    {
      name: 'column-missing',
      edit: (db) => db.exec('ALTER TABLE attempts DROP COLUMN note'),
      says: /table attempts lacks note: not the schema its version says/,
    },
    {
      name: 'table-a-view',
      edit: (db) => db.exec('DROP TABLE certificates; CREATE VIEW certificates AS SELECT 1 AS sha256'),
      says: /has no table certificates \(a view of that name\)/,
    },
  ]
  const before = snapshot(history)
  for (const c of cases) {
    const source = await hostile(`${c.name}.db`, c.edit)
    // A sound source listed first is not merged either: all or nothing.
    const r = await cli('merge', await goodSource(`also-${c.name}.db`), source, '--into', history)
    assert.equal(r.code, 2, `${c.name}: ${r.err}`)
    assert.match(r.err, /^tlsmatrix: STORE_CORRUPT: /, c.name)
    assert.ok(r.err.includes(source), `${c.name} names the source: ${r.err}`)
    assert.match(r.err, c.says, c.name)
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace')
    assert.deepEqual(snapshot(history), before, `${c.name}: the history is byte-identical`)
  }
  // And the history still reports.
  const report = await cli('report', '--db', history, '--out', join(dir, 'report'), '--format', 'json')
  assert.equal(report.code, 0, report.err)
})

test('devices labelled constructor, __proto__, toString are data like any other: merged, and reported with their own snapshot or none', async () => {
  // Two devices with a profile snapshot, two without one (lost before it was taken, or a database
  // edited by hand): a label must never find a property of Object.prototype instead.
  const path = join(dir, 'labels.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  const profile = await loadProfile('spwf04sa-1.1.0')
  const device = runRow('x').devices[0]!
  const labels = ['constructor', '__proto__', 'toString', 'hasOwnProperty']
  runs.createRun(
    runRow('labels', {
      devices: labels.map((label) => ({ ...device, label })),
      profiles: Object.fromEntries([
        ['constructor', profile],
        ['__proto__', profile],
      ]),
    }),
  )
  for (const label of labels)
    runs.recordAttempt(attempt('labels', `${label}.test:443`, { device: label, outcome: 'fail', class: 'untrusted' }))
  db.close()
  const history = join(dir, 'labels-history.db')
  const r = await cli('merge', path, '--into', history, '--json')
  assert.equal(r.code, 0, r.err)
  assert.equal((JSON.parse(r.out) as { sources: Array<{ attempts: number }> }).sources[0]!.attempts, 4)
  const out = join(dir, 'labels-report')
  const rep = await cli('report', '--db', history, '--out', out, '--format', 'json')
  assert.equal(rep.code, 0, rep.err)
  const model = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    cells: Array<{ target: string; why: string[]; evidence: { device: string } }>
  }
  const why = (label: string) => model.cells.find((c) => c.target === `${label}.test:443`)!.why.join(' | ')
  for (const label of ['constructor', '__proto__']) assert.doesNotMatch(why(label), /no profile snapshot/, label)
  for (const label of ['toString', 'hasOwnProperty'])
    assert.match(why(label), new RegExp(`no profile snapshot for ${label} in run labels`), label)
})
