import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Prediction } from '../../src/predict/index.js'
import { buildCell } from '../../src/report/model/cells.js'
import type { CertSummary, TargetRow } from '../../src/report/model/types.js'
import type { CellAttempt } from '../../src/report/model/cells.js'
import { cert } from './render-fixture.js'

const ROOT = 'a'.repeat(64)
const INTER = 'b'.repeat(64)
const certs: Record<string, CertSummary> = {
  [ROOT]: cert(ROOT, 'CN=Root', 'Root'),
  [INTER]: { ...cert(INTER, 'CN=Inter', 'Inter'), selfSigned: false },
}
const row: TargetRow = { target: 't.test:443', host: 't.test', port: 443, path: '/', tags: [], expect: null }

let id = 0
function attempt(anchor: string, over: Partial<CellAttempt>): CellAttempt {
  return {
    id: ++id,
    runId: 'run-1',
    device: 'dev',
    module: 'SPWF04SA',
    firmware: '1.1.0',
    profile: null,
    target: row.target,
    host: row.host,
    port: 443,
    path: '/',
    anchor,
    anchorSubject: certs[anchor]!.subject,
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'fail',
    class: 'untrusted',
    reason: null,
    upload: null,
    lines: [],
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 1,
    expect: null,
    observationId: null,
    recordedAt: '2026-11-28T01:00:00.000Z',
    note: null,
    probe: null,
    ...over,
  }
}

const predict = (): Prediction => ({ verdict: 'unknown', class: null, reasons: [] })
const build = (attempts: CellAttempt[], gaps: { planned: string[] | null; why: string } | null = null) =>
  buildCell({ row, attempts, cert: (s) => certs[s], predictionOf: predict, chain: null, rig: null, gaps })

test("a fail needs the module's word on every planned CA: budget, link and unrecognized leave the cell incomplete", () => {
  for (const reason of ['budget', 'link', 'unrecognized'] as const) {
    const c = build([
      attempt(ROOT, {}),
      attempt(INTER, { outcome: 'not-run', class: null, reason: { reason, detail: 'x' } }),
    ])
    assert.equal(c.verdict, 'not-run', reason)
    assert.equal(c.notRun?.reason, 'incomplete', reason)
    assert.equal(c.complete, false, reason)
    assert.equal(c.mismatch, false, reason)
    assert.match(
      c.notRun.detail,
      new RegExp(`1 of 2 planned CA\\(s\\) without the module's word: "?Inter"? \\(${reason}: x\\)`),
    )
  }
  // A CA the module cannot take at all is a finding about it: the fail is complete.
  const tooLarge = build([
    attempt(ROOT, {}),
    attempt(INTER, { outcome: 'not-run', class: null, reason: { reason: 'ca-too-large', detail: '5000 bytes' } }),
  ])
  assert.equal(tooLarge.verdict, 'fail')
  assert.equal(tooLarge.complete, true)
  // A run stopped before its plan was stored: which CAs remain is unknown, so no fail either.
  const noPlan = build([attempt(ROOT, {})], { planned: null, why: 'the run was interrupted' })
  assert.equal(noPlan.notRun?.reason, 'incomplete')
  assert.match(noPlan.notRun.detail, /the run ended before its plan was complete \(the run was interrupted\)/)
  // Every planned CA judged in an interrupted run: the fail stands.
  const judged = build([attempt(ROOT, {}), attempt(INTER, {})], {
    planned: [ROOT, INTER],
    why: 'the run was interrupted',
  })
  assert.equal(judged.verdict, 'fail')
})

test('a pass with an intermediate only is "only with the intermediate" when complete, and never "only" when a CA was left', () => {
  const complete = build([attempt(INTER, { outcome: 'pass', class: null }), attempt(ROOT, {})])
  assert.equal(complete.onlyIntermediate, true)
  assert.match(
    complete.why.join('\n'),
    /^passes only with the intermediate "Inter" uploaded; with the root "Root" it fails \(untrusted\)/m,
  )
  const partial = build([attempt(INTER, { outcome: 'pass', class: null })], {
    planned: [INTER, ROOT],
    why: 'the run was interrupted',
  })
  assert.equal(partial.verdict, 'pass')
  assert.equal(partial.complete, false)
  assert.equal(partial.onlyIntermediate, false)
  assert.match(
    partial.why.join('\n'),
    /^passes with the intermediate "Inter" uploaded.*; not every planned CA was tried$/m,
  )
})
