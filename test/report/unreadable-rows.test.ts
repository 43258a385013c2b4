import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { helloOf } from '../../src/profile/index.js'
import { loadProfile } from '../../src/families/index.js'
import { helloHash, HistoryStore, openDb, RunStore } from '../../src/store/index.js'
import { LIMITS } from '../../src/store/schemas.js'
import { testIo } from '../helpers/io.js'
import { attempt, runRow } from '../store/learn-fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-unreadable-'))

async function report(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo()
  const code = await run(['report', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

/**
 * A history written by tlsmatrix, then edited by hand: rows no tlsmatrix writes, put in with SQL
 * (as a merge before merge checked its sources could have left them).
 */
async function damagedHistory(): Promise<string> {
  const path = join(dir, 'damaged.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  const profile = await loadProfile('spwf04sa-1.1.0')
  const device = runRow('x').devices[0]!
  // Sound: a run whose device is labelled constructor (a valid label), three targets.
  runs.createRun(runRow('good', { devices: [{ ...device, label: 'constructor' }], profiles: { constructor: profile } }))
  for (const t of ['a.test:443', 'b.test:443', 'c.test:443'])
    runs.recordAttempt(attempt('good', t, { device: 'constructor' }))
  // A second run on another firmware whose devices and profiles columns cannot be read.
  runs.createRun(runRow('bad-columns', { startedAt: '2026-11-02T00:00:00.000Z' }))
  runs.recordAttempt(attempt('bad-columns', 'd.test:443', { module: 'SPWF01SA', firmware: '3.5.3' }))
  db.exec(`UPDATE runs SET devices = 'null', profiles = 'not json' WHERE id = 'bad-columns'`)
  // A run that cannot be read at all (its start is not text): left out with its attempts.
  runs.createRun(runRow('bad-run', { startedAt: '2026-11-03T00:00:00.000Z' }))
  runs.recordAttempt(attempt('bad-run', 'e.test:443', { module: 'SPWF04SA', firmware: '1.0.0' }))
  db.exec(`UPDATE runs SET started_at = x'00ff' WHERE id = 'bad-run'`)
  // Attempts: module lines that are not JSON, a port that is not a number, a transcript that is not JSON.
  db.exec(`UPDATE attempts SET lines = '["HTTP/1.1 200' WHERE target = 'b.test:443'`)
  db.exec(`UPDATE attempts SET port = 'https' WHERE target = 'c.test:443'`)
  db.exec(`UPDATE attempts SET transcript = 'not a transcript' WHERE target = 'a.test:443'`)
  // The chain a.test served to the module's own hello, in a column that is not JSON.
  db.prepare(
    `INSERT INTO observations (target, host, port, observed_at, hello, served, timings, anchors, aia_errors, run_id, chain_hash)
     VALUES ('a.test:443', 'a.test', 443, '2026-11-01T00:10:00.000Z', ?, '[oops', '{}', '[]', '[]', 'good', 'c')`,
  ).run(helloHash(helloOf(profile)))
  db.close()
  return path
}

test('report is alive on a history holding rows it cannot read: it says which, on stderr and in every format, and goes on', async () => {
  const db = await damagedHistory()
  const out = join(dir, 'out')
  const r = await report('--db', db, '--out', out)
  assert.equal(r.code, 0, r.err)
  const ids = (db2: string) => {
    const d = openDb(db2)
    try {
      return Object.fromEntries(
        (d.prepare('SELECT id, target FROM attempts').all() as Array<{ id: number; target: string }>).map((x) => [
          x.target,
          x.id,
        ]),
      ) as Record<string, number>
    } finally {
      d.close()
    }
  }
  const id = ids(db)
  const expected = [
    /^warning: run bad-columns: column devices is not what it must hold .*; its devices are not known/m,
    /^warning: run bad-columns: column profiles is not JSON .*; its cells are not predicted/m,
    /^warning: run bad-run: column started_at holds a BLOB of 2 bytes, expected text; the run is left out of the report$/m,
    new RegExp(
      `^warning: attempt ${id['b.test:443']}: column lines is not JSON .*; the attempt is left out of the report$`,
      'm',
    ),
    new RegExp(
      `^warning: attempt ${id['c.test:443']}: column port holds "https", expected a port number \\(0-65535\\); the attempt is left out of the report$`,
      'm',
    ),
    new RegExp(
      `^warning: attempt ${id['a.test:443']}: column transcript is not JSON .*; the transcript is not shown$`,
      'm',
    ),
    /^warning: observation 1: column served is not JSON .*; its chain is not known: no prediction or chain change rests on it$/m,
  ]
  for (const re of expected) assert.match(r.err, re)
  assert.match(r.out, /^7 row\(s\) of the database could not be read and were left out \(listed in the report\)$/m)

  // report.json lists the rows the model could not read; the cells that could be read are there.
  const model = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    unreadable: { rows: Array<{ table: string; id: string | number; column: string }>; more: number }
    cells: Array<{ target: string; key: string; evidence: { transcript: Array<{ data: string }> } }>
    runs: Array<{ id: string }>
  }
  assert.deepEqual(
    model.unreadable.rows.map((u) => `${u.table} ${u.id} ${u.column}`).sort(),
    [
      'runs bad-columns devices',
      'runs bad-columns profiles',
      'runs bad-run started_at',
      `attempts ${id['b.test:443']} lines`,
      `attempts ${id['c.test:443']} port`,
      'observations 1 served',
    ].sort(),
  )
  assert.deepEqual(
    model.cells.map((c) => `${c.target} ${c.key}`),
    ['d.test:443 SPWF01SA@3.5.3', 'a.test:443 SPWF04SA@1.1.0'],
  )
  assert.deepEqual(
    model.runs.map((x) => x.id),
    ['good', 'bad-columns'],
  )
  // The transcript that cannot be read is a note where it would be.
  const a = model.cells.find((c) => c.target === 'a.test:443')!
  assert.match(a.evidence.transcript[0]!.data, /^the transcript of attempt \d+ cannot be read: it is not JSON/)

  // Markdown, HTML and JUnit say it too.
  const md = readFileSync(join(out, 'matrix.md'), 'utf8')
  assert.match(md, /^## Rows the report could not read$/m)
  assert.match(md, new RegExp(`^- attempt ${id['b.test:443']}: column lines is not JSON`, 'm'))
  const html = readFileSync(join(out, 'index.html'), 'utf8')
  assert.match(html, /<h2 id="unreadable-h">Rows the report could not read<\/h2>/)
  assert.match(html, /run bad-columns: column profiles is not JSON/)
  const junit = readFileSync(join(out, 'junit.xml'), 'utf8')
  assert.match(
    junit,
    /<property name="unreadable-rows" value="6 row\(s\) of the database could not be read and were left out/,
  )

  // A run that cannot be read, asked for by name, is said to be so.
  const asked = await report('--db', db, '--out', join(dir, 'out2'), '--run', 'bad-run')
  assert.equal(asked.code, 2)
  assert.match(asked.err, /REPORT_NO_DATA: --run bad-run: the run cannot be read \(column started_at holds a BLOB/)
})

test('junit with a cell of 500,000 module lines (a database from another rig) is written whole, and no temporary file stays', async () => {
  // push(...lines) overflowed the stack from about 125,000 lines: 500,000 is well over it on any machine.
  const path = join(dir, 'many-lines.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  runs.createRun(runRow('many'))
  // One-character lines keep the column (2 MB of JSON) under the store's limit for module lines.
  const lines = [...Array.from({ length: 499_999 }, () => 'x'), 'the last line']
  runs.recordAttempt(attempt('many', 'big.test:443', { outcome: 'fail', class: 'untrusted', lines }))
  db.close()
  const out = join(dir, 'many-out')
  const r = await report('--db', path, '--out', out, '--format', 'junit,md')
  assert.equal(r.code, 0, r.err)
  assert.deepEqual(readdirSync(out).sort(), ['junit.xml', 'matrix.md'], 'no .part file left beside the report')
  const xml = readFileSync(join(out, 'junit.xml'), 'utf8')
  assert.ok(xml.includes('\n  the last line\n'), 'the last module line is in the failure body')
  assert.ok(xml.endsWith('</testsuites>\n'))
  assert.ok(readFileSync(join(out, 'matrix.md'), 'utf8').includes('module: the last line'))
})

test('a link planted at a temporary name beside the report redirects nothing: its target is untouched, the report lands in place', async () => {
  const path = join(dir, 'plain.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  runs.createRun(runRow('plain'))
  runs.recordAttempt(attempt('plain', 'a.test:443'))
  db.close()
  const out = join(dir, 'planted')
  const victim = join(dir, 'victim.txt')
  writeFileSync(victim, 'keep me\n')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(out)
  const files = ['index.html', 'matrix.md', 'attempts.csv', 'report.json', 'junit.xml']
  // The names the report used to write to (`<file>.<pid>.part`), and the final names themselves.
  for (const f of files) symlinkSync(victim, join(out, `${f}.${process.pid}.part`))
  symlinkSync(victim, join(out, 'junit.xml'))
  const r = await report('--db', path, '--out', out)
  assert.equal(r.code, 0, r.err)
  assert.equal(readFileSync(victim, 'utf8'), 'keep me\n', 'the link target is untouched')
  for (const f of files) {
    const st = lstatSync(join(out, f))
    assert.ok(st.isFile() && !st.isSymbolicLink(), `${f} is a file of its own`)
    assert.ok(st.size > 0, f)
  }
  assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /^<\?xml /)
  // Only the planted links and the report: no temporary file of the report's own stays.
  assert.deepEqual(
    readdirSync(out)
      .filter((f) => !files.includes(f) && !f.endsWith(`.${process.pid}.part`))
      .sort(),
    [],
  )
})

test('a transcript over the size a transcript can have is not read: a note says so where it would be', () => {
  const path = join(dir, 'big-transcript.db')
  const db = openDb(path)
  const runs = new RunStore(db, path)
  runs.createRun(runRow('big'))
  const id = runs.recordAttempt(attempt('big', 'a.test:443'))
  // Just over the limit, as JSON text that would parse: a store written by hand (a run writes at most 512 KiB).
  const data = 'x'.repeat(LIMITS.transcript)
  db.prepare('UPDATE attempts SET transcript = ? WHERE id = ?').run(JSON.stringify([{ dir: 'rx', t: 0, data }]), id)
  const history = new HistoryStore(db)
  const t = history.transcript(id)
  db.close()
  assert.equal(t.length, 1)
  assert.equal(t[0]!.dir, 'note')
  assert.match(
    t[0]!.data,
    new RegExp(
      `^the transcript of attempt ${id} cannot be read: it holds \\d+ characters, over the limit of ${LIMITS.transcript}$`,
    ),
  )
  assert.deepEqual(
    history.unreadable().rows.map((r) => `${r.table} ${r.id} ${r.column}`),
    [`attempts ${id} transcript`],
  )
})
