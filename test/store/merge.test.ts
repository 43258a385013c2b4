import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'

const SPEC = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-merge-'))
const rigA = join(dir, 'rig-a.db')
const rigB = join(dir, 'rig-b.db')
let lab: RunningLab

interface Added {
  runs: number
  updated: number
  attempts: number
  observations: number
  certificates: number
}

async function survey(db: string, rig: string, firmware: string[]): Promise<string> {
  const io = testIo({ inProcess: true })
  const code = await run(
    [
      'run',
      '--hosts',
      lab.hostsFile,
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      db,
      '--json',
      '--rig',
      rig,
      ...firmware.flatMap((f) => ['--device', `emu:${f}?no-dns`]),
      ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  // The must-reject SHA-1 target passes: a finding, exit 1; the run is complete.
  assert.ok(code === 0 || code === 1, io.err())
  return (JSON.parse(io.out()) as { runId: string }).runId
}

async function merge(into: string, ...sources: string[]): Promise<{ code: number; added: Added[]; err: string }> {
  const io = testIo({ inProcess: true })
  const code = await run(['merge', ...sources, '--into', into, '--json'], io)
  return { code, added: code === 0 ? (JSON.parse(io.out()) as { sources: Added[] }).sources : [], err: io.err() }
}

function query<T>(db: string, sql: string, ...args: unknown[]): T[] {
  const d = new Database(db, { readonly: true })
  try {
    return d.prepare(sql).all(...args) as T[]
  } finally {
    d.close()
  }
}
const count = (db: string, table: string) => query<{ n: number }>(db, `SELECT count(*) AS n FROM ${table}`)[0]!.n
const userVersion = (db: string) => {
  const d = new Database(db, { readonly: true })
  try {
    return d.pragma('user_version', { simple: true }) as number
  } finally {
    d.close()
  }
}
const shas = (db: string) => query<{ sha256: string }>(db, 'SELECT sha256 FROM certificates').map((r) => r.sha256)

before(async () => {
  lab = await startTestLab(SPEC, { outDir: dir })
  await survey(rigA, 'rig-a', ['spwf04sa-1.0.0', 'spwf04sa-1.1.0'])
  await survey(rigB, 'rig-b', ['spwf04sa-1.1.0', 'spwf01sa-3.5.3'])
})

after(async () => {
  await lab?.close()
})

test("two rigs merged twice: the union, nothing doubled; the report has the three firmware with each cell's rig", async () => {
  const history = join(dir, 'history.db')
  const first = await merge(history, rigA, rigB)
  assert.equal(first.code, 0, first.err)
  const union = new Set([...shas(rigA), ...shas(rigB)])
  // The two rigs saw the same lab: certificates overlap, and each is kept once.
  assert.ok(union.size < shas(rigA).length + shas(rigB).length)
  assert.deepEqual(
    first.added.map((a) => a.runs),
    [1, 1],
  )
  assert.deepEqual(
    first.added.map((a) => a.attempts),
    [count(rigA, 'attempts'), count(rigB, 'attempts')],
  )
  assert.deepEqual(
    first.added.map((a) => a.observations),
    [count(rigA, 'observations'), count(rigB, 'observations')],
  )
  assert.equal(first.added[0]!.certificates + first.added[1]!.certificates, union.size)
  const totals = () => ['runs', 'attempts', 'observations', 'certificates'].map((t) => count(history, t))
  const expected = [
    2,
    count(rigA, 'attempts') + count(rigB, 'attempts'),
    count(rigA, 'observations') + count(rigB, 'observations'),
    union.size,
  ]
  assert.deepEqual(totals(), expected)

  const again = await merge(history, rigA, rigB)
  assert.equal(again.code, 0, again.err)
  for (const a of again.added)
    assert.deepEqual(
      { ...a, source: undefined },
      { source: undefined, runs: 0, updated: 0, attempts: 0, observations: 0, certificates: 0 },
    )
  assert.deepEqual(totals(), expected)

  // Attempts got new ids; each still points at its own run's observation of its target.
  const links = query<{ run: string; target: string; orun: string | null; otarget: string }>(
    history,
    'SELECT a.run_id AS run, a.target AS target, o.run_id AS orun, o.target AS otarget FROM attempts a JOIN observations o ON o.id = a.observation_id',
  )
  assert.ok(links.length > 0)
  for (const l of links) assert.deepEqual([l.orun, l.otarget], [l.run, l.target])
  assert.equal(
    query<{ n: number }>(
      history,
      'SELECT count(*) AS n FROM attempts WHERE observation_id IS NOT NULL AND observation_id NOT IN (SELECT id FROM observations)',
    )[0]!.n,
    0,
  )

  const out = join(dir, 'report')
  const io = testIo({ inProcess: true })
  assert.equal(await run(['report', '--db', history, '--format', 'json,html', '--out', out], io), 0, io.err())
  const m = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
  assert.deepEqual(m.firmware.map((f) => f.key).sort(), ['SPWF01SA@3.5.3', 'SPWF04SA@1.0.0', 'SPWF04SA@1.1.0'])
  const rigs = (fw: string) => new Set(m.cells.filter((c) => c.key === fw).map((c) => c.evidence.rig))
  assert.deepEqual(rigs('SPWF04SA@1.0.0'), new Set(['rig-a']))
  assert.deepEqual(rigs('SPWF01SA@3.5.3'), new Set(['rig-b']))
  // Both rigs ran 1.1.0: the latest run's word, rig B's.
  assert.deepEqual(rigs('SPWF04SA@1.1.0'), new Set(['rig-b']))
  assert.equal(m.cells.length, 5 * 3)
  // Same lab, same firmware on both rigs: nothing differs between them.
  assert.deepEqual(m.rigDifferences, [])
  // The HTML evidence names the rig too.
  const html = readFileSync(join(out, 'index.html'), 'utf8')
  assert.match(html, /rig rig-a/)
  assert.match(html, /rig rig-b/)
})

test('a run unfinished in the history is brought up to date from its rig; an older copy adds nothing', async () => {
  // An earlier snapshot of rig A: its run interrupted after half of its attempts.
  const early = join(dir, 'rig-a-early.db')
  const d = new Database(rigA)
  await d.backup(early)
  d.close()
  const e = new Database(early)
  const total = (e.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n
  e.prepare('DELETE FROM attempts WHERE id > (SELECT min(id) + ? FROM attempts)').run(Math.floor(total / 2) - 1)
  e.prepare("UPDATE runs SET status = 'interrupted'").run()
  e.close()
  const history = join(dir, 'resumed.db')
  const r1 = await merge(history, early)
  assert.equal(r1.code, 0, r1.err)
  assert.equal(r1.added[0]!.attempts, Math.floor(total / 2))
  const r2 = await merge(history, rigA)
  assert.equal(r2.code, 0, r2.err)
  assert.deepEqual(
    [r2.added[0]!.runs, r2.added[0]!.updated, r2.added[0]!.attempts],
    [0, 1, total - Math.floor(total / 2)],
  )
  assert.equal(count(history, 'attempts'), total)
  assert.deepEqual(
    query<{ status: string }>(history, 'SELECT status FROM runs').map((r) => r.status),
    ['complete'],
  )
  const r3 = await merge(history, early, rigA)
  assert.equal(r3.code, 0, r3.err)
  assert.deepEqual(
    r3.added.map((a) => a.attempts + a.runs + a.updated + a.observations),
    [0, 0],
  )
  assert.equal(count(history, 'attempts'), total)
})

test('a run of the same id with other content is a conflict naming it; the history is unchanged (exit 2)', async () => {
  const history = join(dir, 'conflict.db')
  assert.equal((await merge(history, rigA)).code, 0)
  const other = join(dir, 'rig-a-other.db')
  const d = new Database(rigA)
  await d.backup(other)
  d.close()
  const o = new Database(other)
  o.prepare("UPDATE runs SET hosts_hash = 'x'").run()
  const runId = (o.prepare('SELECT id FROM runs').get() as { id: string }).id
  o.close()
  const before = readFileSync(history)
  const io = testIo({ inProcess: true })
  assert.equal(await run(['merge', rigB, other, '--into', history], io), 2)
  assert.match(io.err(), new RegExp(`MERGE_CONFLICT: run ${runId} in .*rig-a-other\\.db .*hosts_hash`))
  assert.ok(readFileSync(history).equals(before))
  assert.equal(count(history, 'runs'), 1, 'rig B, merged in the same command, is not in either')
})

test('a source of an older schema is migrated in its copy, never in place', async () => {
  const old = join(dir, 'schema4.db')
  const src = new Database(rigA)
  await src.backup(old)
  src.close()
  const d = new Database(old)
  // Back to schema 4: without what 5 (rig), 6 (kind) and 7 (attempts.probe) added.
  d.exec('ALTER TABLE attempts DROP COLUMN probe')
  d.exec('ALTER TABLE runs DROP COLUMN rig')
  d.exec('ALTER TABLE runs DROP COLUMN kind')
  d.pragma('user_version = 4')
  d.pragma('journal_mode = DELETE')
  d.close()
  const bytes = readFileSync(old)
  const history = join(dir, 'from-old.db')
  const r = await merge(history, old)
  assert.equal(r.code, 0, r.err)
  assert.equal(r.added[0]!.attempts, count(rigA, 'attempts'))
  assert.ok(readFileSync(old).equals(bytes), 'the source is left as it was')
  assert.equal(userVersion(old), 4)
  assert.deepEqual(query<{ rig: string | null; kind: string }>(history, 'SELECT rig, kind FROM runs'), [
    { rig: null, kind: 'survey' },
  ])
  assert.equal(userVersion(history), MIGRATIONS.length)
})

test('a target whose verdict differs between rigs on the same firmware is flagged as an environment difference', async () => {
  // Rig C sees another chain for one host (as behind another CDN edge) when it runs 1.1.0.
  const rigC = join(dir, 'rig-c.db')
  lab.rotate('rotate.report.test', 1)
  try {
    await survey(rigC, 'rig-c', ['spwf04sa-1.1.0'])
  } finally {
    lab.rotate('rotate.report.test', 0)
  }
  const history = join(dir, 'rigs-history.db')
  assert.equal((await merge(history, rigA, rigC)).code, 0)
  const out = join(dir, 'rigs-report')
  const io = testIo({ inProcess: true })
  assert.equal(await run(['report', '--db', history, '--format', 'json', '--out', out], io), 0, io.err())
  const m = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
  assert.deepEqual(
    m.rigDifferences.map((d) => `${d.target} ${d.key} ${d.rigs.map((r) => `${r.rig}:${r.verdict}`).join(',')}`),
    ['rotate.report.test:443 SPWF04SA@1.1.0 rig-a:pass,rig-c:fail'],
  )
  const cell = m.cells.find((c) => c.target === 'rotate.report.test:443' && c.key === 'SPWF04SA@1.1.0')!
  assert.ok(
    cell.why.some((w) => /differs between rigs on SPWF04SA@1\.1\.0: rig-a pass, rig-c fail/.test(w)),
    cell.why.join('|'),
  )
  assert.match(io.out(), /1 cell\(s\) differ between rigs/)
})
