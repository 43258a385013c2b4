import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ModuleLost, type OpenedModule } from '../../src/device/index.js'
import { runDevice, type WorkerContext } from '../../src/pipeline/device-worker.js'
import type { DevicePlan, PlanItem, PlannedAnchor } from '../../src/plan/index.js'
import type { AttemptRecord, AttemptRow, RunStore } from '../../src/store/index.js'
import { writeSurveyEvent } from '../../src/cli/output/survey-text.js'
import { surveyProgress } from '../../src/cli/survey-progress.js'
import { buildMatrix, matrixText } from '../../src/report/index.js'
import type { SurveyResult } from '../../src/pipeline/index.js'
import { testIo } from '../helpers/io.js'
import { attemptRow } from '../helpers/attempt-row.js'

/**
 * What a survey counts when its device is lost: every item it records is counted once, against
 * the items planned for the device (all of them, those planned after the loss included), and the
 * run's last line counts the work left undone instead of saying "0 not run".
 */

const anchor: PlannedAnchor = {
  sha256: 'a'.repeat(64),
  subject: 'CN=Root',
  source: 'store',
  kind: 'root',
  uploadBytes: 1,
}
const item = (target: string): PlanItem => ({
  target,
  host: target.split(':')[0]!,
  port: 443,
  path: '/',
  expect: null,
  observationId: null,
  anchor,
  skip: null,
})
const chunk = (targets: string[]): DevicePlan => ({
  device: 'd',
  groups: [{ anchor, items: targets.map(item) }],
  skipped: [],
})

/**
 * A device worker on a module whose preparation loses it (nothing answered: no verdict, everything
 * left undone): `plan` first, then what `more` yields, as a feed that ends with the complete plan.
 * What it records goes to `recorded`.
 */
function lostWorker(
  plan: DevicePlan,
  more: AsyncGenerator<DevicePlan>,
  recorded: AttemptRecord[],
  settled = false,
): WorkerContext {
  const module = {
    identity: { module: 'SPWF04SA', firmware: '1.1.0' },
    profile: { id: 'spwf04sa-1.1.0' },
    driver: {
      reboots: () => 0,
      prepare: () => Promise.reject(new ModuleLost('no answer')),
      clean: () => Promise.resolve(),
    },
    channel: { transcript: { length: 0, since: () => [] } },
  } as unknown as OpenedModule
  const runs = {
    verdictKeys: () => new Set<string>(),
    recordAttempt: (a: AttemptRecord) => recorded.push(a),
  } as unknown as RunStore
  return {
    label: 'd',
    module,
    plan,
    // `settled`: the feed says the complete plan is handed out (DeviceFeed: resolution is over).
    more: Object.assign(more, { complete: true, settled }),
    runId: 'r',
    runs,
    clock: { now: () => new Date(0), monotonic: () => 0 },
    stopping: () => false,
  }
}

test('a device lost before its first request: every item it leaves undone is counted, out of all the items planned for it', async () => {
  const recorded: AttemptRecord[] = []
  const seen: Array<{ done: number; total: number; planning: boolean | undefined }> = []
  // Resolution plans more while the device works: two more chunks arrive after the first.
  async function* more() {
    for (const c of [chunk(['b.test:443', 'c.test:443']), chunk(['d.test:443'])]) yield await Promise.resolve(c)
  }
  const result = await runDevice({
    ...lostWorker(chunk(['a.test:443']), more(), recorded),
    observer: { onAttempt: (_l, done, total, _i, _a, planning) => seen.push({ done, total, planning }) },
  })
  assert.equal(result.status, 'lost')
  assert.equal(recorded.length, 4)
  assert.ok(recorded.every((a) => !a.final && a.outcome === 'not-run' && a.reason?.reason === 'device-lost'))
  // Each recorded item counted once (not "0/…" on every line), out of what was planned when it was recorded.
  assert.deepEqual(
    seen.map((s) => `${s.done}/${s.total}${s.planning ? '+' : ''}`),
    ['1/1+', '2/3+', '3/3+', '4/4+'],
  )
})

test('once the feed has handed out the complete plan, the counter drops its +: the total is final', async () => {
  const recorded: AttemptRecord[] = []
  const seen: string[] = []
  // The rest of the plan in one last chunk, the feed settled once it is pulled (as DeviceFeed after finish()).
  async function* more() {
    yield await Promise.resolve(chunk(['b.test:443', 'c.test:443']))
  }
  await runDevice({
    ...lostWorker(chunk(['a.test:443']), more(), recorded, true),
    observer: { onAttempt: (_l, done, total, _i, _a, planning) => seen.push(`${done}/${total}${planning ? '+' : ''}`) },
  })
  // Before the first pull the total may still grow; each pull of a settled feed makes it final.
  assert.deepEqual(seen, ['1/1+', '2/3', '3/3'])
})

test('a lost device leaves items planned without it (unresolved, an untrusted CA) with their own finding, never "device lost"', async () => {
  const recorded: AttemptRecord[] = []
  const unresolved: PlanItem = {
    ...item('gone.test:443'),
    anchor: null,
    skip: { reason: 'unresolved', detail: 'timeout' },
  }
  // The second chunk comes after the loss: its skipped item keeps its finding too.
  async function* more() {
    yield await Promise.resolve<DevicePlan>({
      device: 'd',
      groups: [],
      skipped: [{ ...item('late.test:443'), anchor: null, skip: { reason: 'unresolved', detail: 'refused' } }],
    })
  }
  const ctx = lostWorker({ ...chunk(['a.test:443']), skipped: [unresolved] }, more(), recorded)
  assert.equal((await runDevice(ctx)).status, 'lost')
  const byTarget = new Map(recorded.map((a) => [a.item.target, [a.final, a.outcome, a.reason?.reason]]))
  assert.deepEqual(byTarget.get('gone.test:443'), [true, 'not-run', 'unresolved'])
  assert.deepEqual(byTarget.get('late.test:443'), [true, 'not-run', 'unresolved'])
  assert.deepEqual(byTarget.get('a.test:443'), [false, 'not-run', 'device-lost'])
})

test('the progress line says the total may grow while resolution plans more (N+), and not once it is known', () => {
  const io = testIo({ inProcess: true })
  const p = surveyProgress(io)
  const a = { final: false, outcome: 'not-run', class: null, reason: { reason: 'device-lost', detail: '' } }
  p.onAttempt!('d', 1, 1, item('a.test:443'), a as unknown as AttemptRecord, true)
  p.onAttempt!('d', 2, 12, item('b.test:443'), a as unknown as AttemptRecord, false)
  assert.match(io.err(), /^\[d\] 1\/1\+ a\.test:443 CN=Root: not run \(device lost\)$/m)
  assert.match(io.err(), /^\[d\] 2\/12 b\.test:443 CN=Root: not run \(device lost\)$/m)
})

const row = (id: number, target: string, over: Partial<AttemptRow>): AttemptRow =>
  attemptRow({ id, firmware: '1.1.0', target, host: target.split(':')[0]!, ...over })

test('the run\'s last line counts the work a lost device left undone, not "0 not run"', () => {
  const lost = { reason: 'device-lost' as const, detail: 'no answer' }
  const targets = Array.from({ length: 12 }, (_, i) => `t${i}.test:443`)
  const attempts = [
    // One verdict, then the device is lost: a retried try and eleven items never sent.
    row(1, 't0.test:443', {}),
    row(2, 't1.test:443', { final: false, outcome: 'fail', class: 'device' }),
    row(3, 't1.test:443', { final: false, try: 0, outcome: 'not-run', reason: lost }),
    ...targets.slice(2).map((t, i) => row(4 + i, t, { final: false, try: 0, outcome: 'not-run', reason: lost })),
  ]
  const device = {
    label: 'd',
    url: 'emu:spwf04sa-1.1.0',
    module: 'SPWF04SA',
    firmware: '1.1.0',
    build: null,
    profile: 'spwf04sa-1.1.0',
    warning: null,
    lost: 'no answer',
  }
  const result = {
    runId: 'r',
    status: 'device-lost',
    devices: [device],
    results: new Map(),
    timeline: [],
  } as SurveyResult
  const io = testIo({ inProcess: true })
  writeSurveyEvent(
    { kind: 'surveyed', result, attempts, matrix: buildMatrix([device], attempts, targets), dbPath: 'h.db' },
    io,
    { json: false },
  )
  assert.match(
    io.out(),
    /^run r device-lost: 1 verdicts \(pass\/fail\), 0 not run, 11 not done \(device lost; --resume does them\), recorded in h\.db$/m,
  )
})

test('the terminal matrix says "device not opened" for a device that never opened and "device lost" for one lost after it opened', () => {
  const lost = { reason: 'device-lost' as const, detail: 'cannot open: refused' }
  const targets = ['a.test:443', 'b.test:443']
  const device = (label: string, opened: boolean) => ({
    label,
    url: `tcp://127.0.0.1:1#${label}`,
    module: opened ? 'SPWF04SA' : null,
    firmware: opened ? '1.1.0' : null,
    build: null,
    profile: opened ? 'spwf04sa-1.1.0' : null,
    warning: null,
    lost: 'gone',
  })
  const devices = [device('never', false), device('later', true)]
  const attempts = devices.flatMap((d, n) =>
    targets.map((t, i) => ({
      ...row(n * 10 + i, t, { final: false, try: 0, outcome: 'not-run', reason: lost }),
      device: d.label,
    })),
  )
  const text = matrixText(buildMatrix(devices, attempts, targets))
  assert.match(text, /^a\.test:443 +device not opened +device lost$/m)
  assert.match(text, /never \(not opened\)/)
})

test("a run stopped by an error says how to finish it in the command's own words: run --resume, or the demo's own advice", () => {
  const stopped = { kind: 'stopped' as const, runId: 'R1', status: 'interrupted' as const, dbPath: 'h.db' }
  const run = testIo({ inProcess: true })
  writeSurveyEvent(stopped, run, { json: false })
  assert.match(run.err(), /^run R1 interrupted; finish it with:\n {2}tlsmatrix run --resume R1 --db h\.db$/m)
  // The demo's lab is gone with it: it never advises a --resume that cannot work.
  const demo = testIo({ inProcess: true })
  writeSurveyEvent(stopped, demo, { json: false, stoppedHint: 'start the demo again (npm start)' })
  assert.match(demo.err(), /^run R1 interrupted; start the demo again \(npm start\)$/m)
  assert.doesNotMatch(demo.err(), /--resume/)
})
