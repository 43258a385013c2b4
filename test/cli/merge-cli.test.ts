import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { existsSync, linkSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb } from '../../src/store/index.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'
import { gatedLabTargets, RequestGate } from '../helpers/lab-server.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'
import { waitFor } from '../helpers/wait.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-merge-cli-'))
const source = join(dir, 'rig.db')
const history = join(dir, 'history.db')
let lab: RunningLab

interface Added {
  runs: number
  updated: number
  attempts: number
  observations: number
  certificates: number
}

async function merge(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo()
  const code = await run(['merge', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

function get<T>(db: string, sql: string): T {
  const d = new Database(db, { readonly: true })
  try {
    return d.prepare(sql).get() as T
  } finally {
    d.close()
  }
}
function count(db: string, sql: string): number {
  try {
    return get<{ n: number }>(db, sql).n
  } catch {
    return 0 // not created, or not migrated yet
  }
}

before(async () => {
  lab = await startTestLab()
})
after(async () => {
  await lab?.close()
})

// End to end, with processes: the run is a process of its own writing its database while this
// one merges from it (SQLite across processes).
test('merge while a run writes to the source: a consistent part first, the rest on the second merge, nothing doubled', async (t) => {
  // One request answered, the next held at the gate: the run is mid-way when the first merge comes.
  const gate = new RequestGate(1)
  const targets = await gatedLabTargets(
    lab,
    ['rsa2048', 'rsa4096-int', 'cross', 'expired', 'extra-cert'].map((n) => `${n}.basic.test`),
    gate,
  )
  t.after(() => targets.close())
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, targets.hostsText)
  const c = spawnCli([
    'run',
    '--hosts',
    hosts,
    '--db',
    source,
    '--rig',
    'bench-7',
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    '--aia-allow-private',
    ...[...targets.resolve, ...lab.resolveEntries].flatMap((e) => ['--resolve', e]),
    '--device',
    'emu:spwf04sa-1.1.0?no-dns',
  ])
  await waitFor(
    () => count(source, 'SELECT count(*) n FROM attempts WHERE final = 1') >= 1 && gate.held() > 0,
    'a first verdict, then a request held',
  )
  const first = await merge(source, '--into', history, '--json')
  assert.equal(first.code, 0, first.err)
  const a1 = (JSON.parse(first.out) as { sources: Added[] }).sources[0]!
  assert.equal(a1.runs, 1)
  assert.ok(a1.attempts >= 1)
  const mid = get<{ status: string; rig: string }>(history, 'SELECT status, rig FROM runs')
  assert.deepEqual(mid, { status: 'running', rig: 'bench-7' })

  gate.open()
  const code = await exitOf(c)
  assert.ok(code === 0 || code === 1, c.stderr())
  const total = count(source, 'SELECT count(*) n FROM attempts')
  assert.ok(total > a1.attempts, 'the run went on after the first merge')
  const second = await merge(source, '--into', history, '--json')
  assert.equal(second.code, 0, second.err)
  const a2 = (JSON.parse(second.out) as { sources: Added[] }).sources[0]!
  assert.deepEqual([a2.runs, a2.updated, a2.attempts], [0, 1, total - a1.attempts])
  assert.equal(count(history, 'SELECT count(*) n FROM attempts'), total)
  assert.equal(
    count(history, 'SELECT count(*) n FROM observations'),
    count(source, 'SELECT count(*) n FROM observations'),
  )
  assert.equal(
    count(history, 'SELECT count(*) n FROM certificates'),
    count(source, 'SELECT count(*) n FROM certificates'),
  )
  assert.equal(get<{ status: string }>(history, 'SELECT status FROM runs').status, 'complete')

  // Plain output: per source, what it added.
  const third = await merge(source, '--into', history)
  assert.equal(third.code, 0, third.err)
  assert.match(third.out, /rig\.db: added 0 run\(s\), 0 attempt\(s\), 0 observation\(s\), 0 certificate\(s\)/)
  assert.equal(count(history, 'SELECT count(*) n FROM attempts'), total)
})

test('a newer-schema, corrupt, truncated, foreign or missing source is refused (exit 2); the history is left byte-identical', async () => {
  if (!existsSync(history)) assert.equal((await merge(source, '--into', history)).code, 0)
  const newer = join(dir, 'newer.db')
  const n = openDb(newer)
  n.pragma(`user_version = ${MIGRATIONS.length + 1}`)
  n.close()
  const garbage = join(dir, 'garbage.db')
  writeFileSync(garbage, Buffer.alloc(8192, 0x5a))
  const truncated = join(dir, 'truncated.db')
  const whole = readFileSync(source)
  writeFileSync(truncated, whole.subarray(0, Math.max(4096, Math.floor(whole.length / 8192) * 4096)))
  const foreign = join(dir, 'foreign.db')
  const f = new Database(foreign)
  f.exec('CREATE TABLE contacts (name TEXT)')
  f.close()
  const cases = [
    { path: newer, code: 'STORE_TOO_NEW', message: /schema version/ },
    { path: garbage, code: 'STORE_CORRUPT', message: /not an SQLite file/ },
    { path: truncated, code: 'STORE_CORRUPT', message: /corrupt|malformed/ },
    { path: foreign, code: 'STORE_FOREIGN', message: /another program's SQLite database/ },
    { path: join(dir, 'missing.db'), code: 'STORE_UNUSABLE', message: /no such file/ },
  ]
  const before = readFileSync(history)
  const fresh = join(dir, 'never.db')
  for (const c of cases) {
    // A good source listed first is not merged either: all or nothing.
    const r = await merge(source, c.path, '--into', history)
    assert.equal(r.code, 2, `${c.code}: ${r.err}`)
    assert.match(r.err, new RegExp(`^tlsmatrix: ${c.code}: .*${c.path.replace(/[.]/g, '\\.')}`), r.err)
    assert.match(r.err, c.message)
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace')
    assert.ok(readFileSync(history).equals(before), `${c.code}: history unchanged`)
    assert.equal((await merge(c.path, '--into', fresh)).code, 2)
    assert.equal(existsSync(fresh), false, `${c.code}: no history created`)
  }
})

test('--rig is one printable line: anything else is a usage error before a run begins (exit 2)', async () => {
  for (const bad of ['', 'a\nb', 'x'.repeat(65)]) {
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(
        [
          'run',
          '--hosts',
          join(dir, 'hosts.txt'),
          '--device',
          'emu:spwf04sa-1.1.0',
          '--db',
          join(dir, 'rig-usage.db'),
          '--rig',
          bad,
        ],
        io,
      ),
      2,
    )
    assert.match(
      io.err(),
      /USAGE: option '--rig <name>' argument .* is invalid. expected 1 to 64 printable ASCII characters/s,
    )
  }
  assert.equal(existsSync(join(dir, 'rig-usage.db')), false)
})

test('a source that is the history under another name (a symbolic or hard link) is refused (exit 2), the history unchanged', async () => {
  const own = join(dir, 'own-history.db')
  openDb(own).close()
  const soft = join(dir, 'soft-link.db')
  const hard = join(dir, 'hard-link.db')
  symlinkSync(own, soft)
  linkSync(own, hard)
  const before = readFileSync(own)
  for (const link of [soft, hard]) {
    const r = await merge(link, '--into', own)
    assert.equal(r.code, 2, r.err)
    assert.match(r.err, /both a source and --into/)
    assert.ok(readFileSync(own).equals(before))
  }
})
