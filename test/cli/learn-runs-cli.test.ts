import { test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { testIo } from '../helpers/io.js'
import { attempt, learnRun, runRow } from '../store/learn-fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-cli-'))

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo({ cwd: dir })
  const code = await run(args, io)
  return { code, out: io.out(), err: io.err() }
}

function rows<T>(path: string, sql: string): T[] {
  const d = new Database(path, { readonly: true })
  try {
    return d.prepare(sql).all() as T[]
  } finally {
    d.close()
  }
}

test('run --resume of a learn run is a usage error pointing at learn --resume (exit 2); the run is left as it was', async () => {
  const path = join(dir, 'resume.db')
  const db = openDb(path)
  learnRun(db, path, 'L1', { status: 'interrupted', endedAt: null }, [{ probe: 'p1' }])
  db.close()
  const r = await cli(['run', '--resume', 'L1', '--db', path])
  assert.equal(r.code, 2, r.err)
  assert.match(r.err, /USAGE: run L1 is a learn run; use tlsmatrix learn --resume L1/)
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace')
  assert.deepEqual(rows(path, 'SELECT id, kind, status FROM runs'), [
    { id: 'L1', kind: 'learn', status: 'interrupted' },
  ])
  assert.equal(rows(path, 'SELECT id FROM attempts').length, 1)
})

test('merge copies a learn run like any run: its kind kept, merging again adds nothing, its later probes follow, and a survey of the same id conflicts', async () => {
  const rig = join(dir, 'rig.db')
  const db = openDb(rig)
  const runs = new RunStore(db, rig)
  runs.createRun(runRow('S1'))
  runs.recordAttempt(attempt('S1', 'a:443'))
  learnRun(db, rig, 'L1', { status: 'interrupted', endedAt: null, startedAt: '2026-11-02T00:00:00.000Z' }, [
    { probe: 'p1' },
    { probe: 'p2', outcome: 'fail', class: 'untrusted' },
  ])
  db.close()
  const history = join(dir, 'history.db')
  const first = await cli(['merge', rig, '--into', history, '--json'])
  assert.equal(first.code, 0, first.err)
  assert.deepEqual(
    (JSON.parse(first.out) as { sources: Array<{ runs: number; attempts: number }> }).sources.map((s) => [
      s.runs,
      s.attempts,
    ]),
    [[2, 3]],
  )
  const kinds = () =>
    rows<{ id: string; kind: string; status: string }>(history, 'SELECT id, kind, status FROM runs ORDER BY id')
  assert.deepEqual(kinds(), [
    { id: 'L1', kind: 'learn', status: 'interrupted' },
    { id: 'S1', kind: 'survey', status: 'complete' },
  ])
  const notes = () =>
    rows<{ target: string; note: string }>(history, "SELECT target, note FROM attempts WHERE run_id = 'L1' ORDER BY id")
  assert.deepEqual(notes(), [
    { target: 'p1', note: 'probe p1' },
    { target: 'p2', note: 'probe p2' },
  ])

  const again = await cli(['merge', rig, '--into', history, '--json'])
  assert.equal(again.code, 0, again.err)
  assert.deepEqual(
    (JSON.parse(again.out) as { sources: Array<{ runs: number; updated: number; attempts: number }> }).sources.map(
      (s) => [s.runs, s.updated, s.attempts],
    ),
    [[0, 0, 0]],
  )

  // The rig resumed the learn run since: its further probe and its end come over.
  const d2 = openDb(rig)
  const r2 = new RunStore(d2, rig)
  r2.recordAttempt(attempt('L1', 'p3', { note: 'probe p3' }))
  r2.updateRun('L1', { status: 'complete', endedAt: '2026-11-02T01:00:00.000Z' })
  d2.close()
  const later = await cli(['merge', rig, '--into', history, '--json'])
  assert.equal(later.code, 0, later.err)
  assert.deepEqual(
    (JSON.parse(later.out) as { sources: Array<{ runs: number; updated: number; attempts: number }> }).sources.map(
      (s) => [s.runs, s.updated, s.attempts],
    ),
    [[0, 1, 1]],
  )
  assert.deepEqual(kinds(), [
    { id: 'L1', kind: 'learn', status: 'complete' },
    { id: 'S1', kind: 'survey', status: 'complete' },
  ])
  assert.deepEqual(
    notes().map((n) => n.target),
    ['p1', 'p2', 'p3'],
  )

  // Another database whose run of that id is a survey: not the same run.
  const other = join(dir, 'other.db')
  const d3 = openDb(other)
  new RunStore(d3, other).createRun(
    runRow('L1', { startedAt: '2026-11-02T00:00:00.000Z', status: 'interrupted', endedAt: null, hostsFile: '' }),
  )
  d3.close()
  const clash = await cli(['merge', other, '--into', history])
  assert.equal(clash.code, 2, clash.err)
  // The learn run's options (what a resumed learn takes) are not a survey's either.
  assert.match(clash.err, /MERGE_CONFLICT: run L1 in .* \(its options, kind differ/)
})
