import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { hostsHash, runTargetOrder } from '../../src/jobs/hosts-change.js'
import { attemptWords } from '../../src/cli/survey-progress.js'
import { buildMatrix, failuresText, matrixText } from '../../src/report/index.js'
import { openDb, RunStore, type RunDevice } from '../../src/store/index.js'
import type { DevicePlan } from '../../src/plan/index.js'
import { closedPort } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'
import { attemptRow } from '../helpers/attempt-row.js'

/** A run interrupted while it resolved: no plan, the target list stored when it was created. */
async function unplannedRun(): Promise<{ db: string; hosts: string; id: string; first: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-resume-report-'))
  const hosts = join(dir, 'hosts.txt')
  const first = `127.0.0.1:${await closedPort()}`
  writeFileSync(hosts, `${first}\n`)
  const db = join(dir, 'r.db')
  const store = openDb(db)
  const id = '20261128-000000-beef'
  new RunStore(store, db).createRun({
    id,
    label: null,
    startedAt: new Date().toISOString(),
    endedAt: null,
    status: 'interrupted',
    toolVersion: 'test',
    hostsFile: hosts,
    hostsHash: hostsHash(`${first}\n`),
    trustStoreHash: 'x',
    devices: [],
    plan: null,
    options: {
      hosts,
      targets: [{ id: first, path: '/', expect: null }],
      device: [`late=tcp://127.0.0.1:${await closedPort()}`],
      profiles: [],
      anchors: 'all',
      resolve: [],
      trustStore: [],
      trustStoreOnly: false,
      aiaAllowPrivate: false,
      concurrency: 4,
      timeoutMs: 2000,
      deviceTimeoutMs: 2000,
    },
  })
  store.close()
  return { db, hosts, id, first }
}

test('HOSTS_CHANGED names the targets even when the run had no plan yet; --force says it re-plans from the current file', async () => {
  const r = await unplannedRun()
  const added = `127.0.0.1:${await closedPort()}`
  writeFileSync(r.hosts, `${r.first}\n${added}\n`)
  const io = testIo()
  assert.equal(await run(['run', '--resume', r.id, '--db', r.db], io), 2)
  assert.match(io.err(), new RegExp(`HOSTS_CHANGED: .*began: added ${added}\\.`))
  const io2 = testIo()
  await run(['run', '--resume', r.id, '--db', r.db, '--force'], io2)
  assert.match(io2.err(), /--force: the run had no plan yet, so it is planned from the current hosts file/)
  assert.doesNotMatch(io2.err(), /resuming with the plan made then/)
  // Its only device does not open: the open error, and the run left as it was (interrupted), resumable.
  assert.match(
    io2.err(),
    /TRANSPORT_OPEN_FAILED: cannot open device late: tcp:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
  )
  assert.match(io2.err(), new RegExp(`run ${r.id} interrupted; finish it with:\n  tlsmatrix run --resume ${r.id} `))
})

const item = (target: string) => ({
  target,
  host: '127.0.0.1',
  port: 1,
  path: '/',
  expect: null,
  observationId: null,
  anchor: null,
  skip: { reason: 'no-anchor' as const, detail: 'none' },
})

test("the report lists the run's own targets (its plan), not targets added to the file since", () => {
  const plan: DevicePlan[] = [{ device: 'd', groups: [], skipped: [item('b:1'), item('a:1')] }]
  const now = [{ id: 'a:1' }, { id: 'new:1' }, { id: 'c:1' }] as unknown as Parameters<typeof runTargetOrder>[1]
  assert.deepEqual(runTargetOrder(plan, now), ['a:1', 'b:1'])
  assert.deepEqual(runTargetOrder(null, now), ['a:1', 'new:1', 'c:1'])
})

const device: RunDevice = {
  label: 'd',
  url: 'tcp://127.0.0.1:1',
  module: null,
  firmware: null,
  build: null,
  profile: null,
  warning: null,
  lost: null,
}
const row = attemptRow

test('a matrix cell uses final rows only: a device-lost not-run redone on resume leaves no note', () => {
  const lost = row({
    id: 1,
    try: 0,
    final: false,
    outcome: 'not-run',
    reason: { reason: 'device-lost', detail: 'gone' },
    httpStatus: null,
  })
  const passed = row({ id: 2 })
  const cell = buildMatrix([device], [lost, passed], ['t:443']).rows[0]!.cells.get('d')!
  assert.equal(cell.verdict, 'pass')
  assert.deepEqual(cell.notes, [])
  assert.equal(buildMatrix([device], [lost], ['t:443']).rows[0]!.cells.get('d')!.verdict, 'pending')
})

test('a device never opened is shown as such in the header, not "(? ?)"', () => {
  const text = matrixText(buildMatrix([device], [], ['t:443']))
  assert.match(text, /d \(not opened\)/)
  assert.doesNotMatch(text, /\(\? \?\)/)
})

test('not-run items are explained under "not run:" with their reason, detail and the module\'s last lines', () => {
  const link = row({
    outcome: 'not-run',
    reason: { reason: 'link', detail: 'no answer after 3 tries' },
    lines: ['AT-S.ERROR:73'],
    httpStatus: null,
  })
  const text = failuresText([link])
  assert.match(text, /^not run:\n {2}d {2}t:443: link: no answer after 3 tries\n {6}AT-S\.ERROR:73$/)
})

test('progress names work left undone by a lost device, never "null (retrying)"', () => {
  assert.equal(
    attemptWords({ final: false, outcome: 'not-run', class: null, reason: { reason: 'device-lost' } }),
    'not run (device lost)',
  )
  assert.equal(attemptWords({ final: false, outcome: 'fail', class: 'link', reason: null }), 'link (retrying)')
  assert.equal(attemptWords({ final: true, outcome: 'fail', class: 'untrusted', reason: null }), 'fail untrusted')
})
