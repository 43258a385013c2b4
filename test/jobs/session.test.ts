import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Clock } from '../../src/core/clock.js'
import { isAppError, type ErrorCode } from '../../src/core/errors.js'
import type { JobIo } from '../../src/jobs/io.js'
import { RunSession } from '../../src/jobs/session.js'
import type { RunRow, SurveyRun } from '../../src/store/index.js'

// The run session that `run` and `learn` share, in process against a real SQLite file: what the
// end-to-end tests (test/cli/interrupt*.test.ts, test/survey/resume.test.ts, test/cli/learn-runs-cli.test.ts)
// prove through a spawned CLI, here without a device or a process.

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-session-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshDb = () => join(dir, `s${n++}.db`)

const T0 = new Date('2026-03-01T02:00:00.000Z')
const clock: Clock = { now: () => T0, monotonic: () => 0 }

function row(id: string, fields: { status?: RunRow['status']; rig?: string; kind?: 'learn' } = {}): RunRow {
  const { kind, ...rest } = fields
  const common: Omit<SurveyRun, 'options' | 'kind'> = {
    id,
    label: null,
    startedAt: '2026-03-01T01:00:00.000Z',
    endedAt: null,
    status: 'running',
    toolVersion: 'test',
    hostsFile: '-',
    hostsHash: '-',
    trustStoreHash: '-',
    devices: [],
    plan: null,
    ...rest,
  }
  return kind === 'learn'
    ? { ...common, kind, options: { device: '-', out: null, from: null, labHost: '-', labListen: '-', profiles: [] } }
    : { ...common, kind: 'survey', options: {} }
}

/** A console whose first Ctrl-C is `interrupt()` and whose second is `insist()`. */
function consoleIo(): JobIo & { interrupt(): Promise<void>; insist(): number } {
  let interrupt = () => {}
  let handler: (() => number) | null = null
  const interrupted = new Promise<void>((r) => {
    interrupt = r
  })
  return {
    cwd: dir,
    interrupted,
    onInsist: (h) => {
      handler = h
    },
    interrupt: async () => {
      interrupt()
      await interrupted
      await Promise.resolve() // the session's own `then` runs after ours
    },
    insist: () => {
      assert.ok(handler, 'the session registered what a second Ctrl-C does')
      return handler()
    },
  }
}

const refused = (code: ErrorCode, re: RegExp) => (err: unknown) => isAppError(err, code) && re.test(err.message)

test('a run is resumed only from a database that exists: checking creates nothing', () => {
  const db = freshDb()
  assert.throws(
    () => RunSession.checkResumable(db, 'run R1'),
    refused('RUN_NOT_RESUMABLE', /no database at .*: run R1 cannot be resumed/),
  )
  assert.equal(existsSync(db), false)
  writeFileSync(db, '')
  assert.throws(() => RunSession.checkResumable(db, 'learn run L1'), refused('RUN_NOT_RESUMABLE', /learn run L1/))
})

test('the database is created by the run, not by opening the session; the run is stamped with the rig', () => {
  const db = freshDb()
  const s = RunSession.open(db, { rig: 'bench-a' })
  try {
    assert.equal(existsSync(db), false, 'opened at first use: a run refused before it records leaves no file')
    assert.equal(s.runId, null)
    s.runs.createRun(row('R1'))
    assert.equal(existsSync(db), true)
    assert.equal(s.runId, 'R1')
    assert.equal(s.runs.getRun('R1')?.rig, 'bench-a')
    // A rig the run names itself is kept; none given: the host name.
    s.runs.createRun(row('R2', { rig: 'own' }))
    assert.equal(s.runs.getRun('R2')?.rig, 'own')
  } finally {
    s.close()
  }
  const t = RunSession.open(db)
  try {
    t.runs.createRun(row('R3'))
    assert.equal(t.runs.getRun('R3')?.rig, hostname())
  } finally {
    t.close()
  }
})

test('resume: a survey or a learn run of that id, not complete; each refusal as its command words it', () => {
  const db = freshDb()
  const setup = RunSession.open(db)
  setup.runs.createRun(row('S-open', { status: 'interrupted' }))
  setup.runs.createRun(row('S-done', { status: 'complete' }))
  setup.runs.createRun(row('L-open', { status: 'interrupted', kind: 'learn' }))
  setup.runs.createRun(row('L-done', { status: 'complete', kind: 'learn' }))
  setup.close()

  const s = RunSession.open(db)
  try {
    assert.throws(() => s.resume('nope', 'survey'), refused('RUN_NOT_RESUMABLE', /no run nope in /))
    assert.throws(
      () => s.resume('L-open', 'survey'),
      refused('USAGE', /learn run; use tlsmatrix learn --resume L-open/),
    )
    assert.throws(() => s.resume('S-done', 'survey'), refused('RUN_NOT_RESUMABLE', /S-done is already complete/))
    assert.throws(() => s.resume('nope', 'learn'), refused('USAGE', /nothing to resume/))
    assert.throws(() => s.resume('S-open', 'learn'), refused('USAGE', /a survey, not a learn run/))
    assert.throws(
      () => s.resume('L-done', 'learn'),
      refused('RUN_NOT_RESUMABLE', /learn run L-done is already complete/),
    )
    assert.equal(s.runId, null, 'a refused resume names no run')
    assert.equal(s.resume('S-open', 'survey').id, 'S-open')
    assert.equal(s.runId, 'S-open')
    // Running again until it ends.
    s.markRunning()
    assert.deepEqual([s.runs.getRun('S-open')?.status, s.runs.getRun('S-open')?.endedAt], ['running', null])
  } finally {
    s.close()
  }
})

test('Ctrl-C: the first stops new work, the second marks the running run interrupted at once and exits 3', async () => {
  const db = freshDb()
  const s = RunSession.open(db)
  const io = consoleIo()
  const heard: string[] = []
  try {
    s.watch(io, clock, { stop: () => heard.push('stop'), insist: (id) => heard.push(`insist ${id}`) })
    s.runs.createRun(row('R1'))
    assert.equal(s.stopping, false)
    await io.interrupt()
    assert.equal(s.stopping, true)
    assert.deepEqual(heard, ['stop'])
    assert.equal(s.runs.getRun('R1')?.status, 'running', 'the first Ctrl-C leaves the run to end by itself')
    assert.equal(io.insist(), 3)
    const r = s.runs.getRun('R1')
    assert.deepEqual([r?.status, r?.endedAt], ['interrupted', T0.toISOString()])
    assert.deepEqual(heard, ['stop', 'insist R1'])
  } finally {
    s.close()
  }
})

test('a second Ctrl-C marks only a run still running, and names none before the run exists', () => {
  const db = freshDb()
  const early = RunSession.open(db)
  const io = consoleIo()
  const ids: Array<string | null> = []
  early.watch(io, clock, { stop: () => {}, insist: (id) => ids.push(id) })
  assert.equal(io.insist(), 3)
  assert.deepEqual(ids, [null])
  assert.equal(existsSync(db), false, 'nothing to mark, nothing created')
  early.close()

  // A run that already ended keeps its status.
  const s = RunSession.open(db)
  const io2 = consoleIo()
  try {
    s.watch(io2, clock, { stop: () => {}, insist: () => {} })
    s.runs.createRun(row('R1'))
    s.end('complete', clock)
    assert.equal(io2.insist(), 3)
    assert.equal(s.runs.getRun('R1')?.status, 'complete')
  } finally {
    s.close()
  }

  // A learn reserves its id before creating the run: Ctrl-C names it, and marks it once created.
  const l = RunSession.open(freshDb())
  const io3 = consoleIo()
  const named: Array<string | null> = []
  try {
    l.watch(io3, clock, { stop: () => {}, insist: (id) => named.push(id) })
    l.reserve('L1')
    io3.insist()
    l.runs.createRun(row('L1', { kind: 'learn' }))
    io3.insist()
    assert.deepEqual(named, ['L1', 'L1'])
    assert.equal(l.runs.getRun('L1')?.status, 'interrupted')
  } finally {
    l.close()
  }
})

test('end: the status, when, and what the devices did', () => {
  const s = RunSession.open(freshDb())
  try {
    assert.throws(() => s.end('complete', clock), /no run to end/)
    s.runs.createRun(row('R1'))
    const device = {
      label: 'module',
      url: 'emu:x',
      module: 'SPWF04SA',
      firmware: '1.0.0',
      build: null,
      profile: 'spwf04sa-1.0.0',
      warning: null,
      lost: 'gone',
    }
    s.end('device-lost', clock, { devices: [device] })
    const r = s.runs.getRun('R1')!
    assert.equal(r.status, 'device-lost')
    assert.equal(r.endedAt, T0.toISOString())
    assert.equal(r.devices[0]?.lost, 'gone')
    assert.equal(s.exists('R1'), true)
    assert.equal(s.exists('R2'), false)
  } finally {
    s.close()
  }
})
