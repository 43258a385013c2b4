import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeChainChange, type ChainCertFacts } from '../../src/report/model/chain-change.js'
import { comparedCount, diffCells, diffMarks, type ChangeExplanation } from '../../src/report/model/diff.js'
import type { Cell } from '../../src/report/model/types.js'
import { cell, column, target } from './render-fixture.js'

/** Certificates by a short id; `spki` names the key, so a re-key and a re-issue are told apart. */
const cert = (subject: string, key: string, spki: string, selfSigned = false): ChainCertFacts => ({
  subject,
  name: subject,
  key,
  spki,
  selfSigned,
})
const certs: Record<string, ChainCertFacts> = {
  leaf1: cert('CN=a.test', 'RSA-2048', 'k-leaf1'),
  leaf2: cert('CN=a.test', 'RSA-2048', 'k-leaf2'),
  leafEc: cert('CN=a.test', 'ECDSA P-256', 'k-leafEc'),
  intA: cert('CN=Int A', 'RSA-2048', 'k-intA'),
  intA2: cert('CN=Int A', 'RSA-2048', 'k-intA'),
  intA4096: cert('CN=Int A', 'RSA-4096', 'k-intA4096'),
  intB: cert('CN=Int B', 'RSA-4096', 'k-intB'),
  rootA: cert('CN=Root A', 'RSA-2048', 'k-rootA', true),
  rootB: cert('CN=Root B', 'RSA-4096', 'k-rootB', true),
}
const look = (sha: string) => certs[sha] ?? null
const side = (served: string[], anchors: string[] = []) => ({ served, anchors })
const words = (b: ReturnType<typeof side>, a: ReturnType<typeof side>) => describeChainChange(b, a, look).summary

test('a chain change in words: a new intermediate or root in place of another, a re-key, a re-issue', () => {
  assert.equal(
    words(side(['leaf1', 'intA'], ['rootA']), side(['leaf2', 'intB'], ['rootB'])),
    'leaf CN=a.test re-issued with a new key (RSA-2048); new intermediate CN=Int B (RSA-4096) in place of CN=Int A (RSA-2048); new root CN=Root B (RSA-4096) in place of CN=Root A (RSA-2048)',
  )
  // The same intermediate name with another key, then with the same key (re-certified).
  assert.equal(
    words(side(['leaf1', 'intA'], ['rootA']), side(['leaf1', 'intA4096'], ['rootA'])),
    're-issued (new keys, same names)',
  )
  assert.equal(
    describeChainChange(side(['leaf1', 'intA'], ['rootA']), side(['leaf1', 'intA4096'], ['rootA']), look).changes[0]!
      .text,
    'intermediate CN=Int A re-issued with a new key (RSA-2048 → RSA-4096)',
  )
  assert.equal(words(side(['leaf1', 'intA']), side(['leaf1', 'intA2'])), 're-certified (same keys, same names)')
  // Only the leaf: its key type changed.
  assert.equal(
    describeChainChange(side(['leaf1', 'intA']), side(['leafEc', 'intA']), look).changes[0]!.text,
    'leaf CN=a.test re-issued with a new key (RSA-2048 → ECDSA P-256)',
  )
  // An intermediate the server stopped sending; an unknown certificate is named by its hash.
  assert.equal(words(side(['leaf1', 'intA']), side(['leaf1'])), 'intermediate CN=Int A (RSA-2048) no longer served')
  assert.match(words(side(['leaf1']), side(['leaf1', 'f'.repeat(64)])), /^new intermediate f{16} \(\?\)$/)
})

const old = column('SPWF04SA', '1.0.0')
const neu = column('SPWF04SA', '1.1.0')
const t = target('a.test:443', [])

function sides(b: Partial<Cell>, a: Partial<Cell>, bCol = neu, aCol = old) {
  const before = new Map([[t.target, cell(t, bCol, { runId: 'r1', ...b })]])
  const after = new Map([[t.target, cell(t, aCol, { runId: 'r2', ...a })]])
  return { before, after, order: [{ id: t.target, target: t.target, key: null }] }
}

test('diffCells blames a changed verdict on the chain when the baseline firmware is predicted to give it too, else on the firmware', () => {
  const s = sides({ verdict: 'pass' }, { verdict: 'fail', class: 'key-unsupported', why: ['RSA-4096'] })
  const explain =
    (verdict: 'pass' | 'fail' | 'unknown'): ((b: Cell, a: Cell) => ChangeExplanation) =>
    () => ({
      chain: 'new intermediate X',
      brief: 'new intermediate',
      baselineOnNew: { verdict, reasons: verdict === 'unknown' ? ['not observed'] : [] },
    })
  // Predicted to fail the new chain too: the server's doing, kept out of the regressions.
  const server = diffCells('SPWF04SA@1.1.0', 'run:r2', s.before, s.after, s.order, explain('fail'))
  assert.deepEqual(server.regressions, [])
  assert.equal(server.chainChanged.length, 1)
  assert.deepEqual(server.chainChanged[0]!.why, [
    "the server's chain changed between the runs (new intermediate X); SPWF04SA 1.1.0 is predicted to fail the new chain too",
    'RSA-4096',
  ])
  assert.equal(comparedCount(server), 1)
  assert.equal(diffMarks(server).size, 0)
  // Predicted to pass it: the firmware makes the difference.
  const firmware = diffCells('SPWF04SA@1.1.0', 'run:r2', s.before, s.after, s.order, explain('pass'))
  assert.equal(firmware.regressions.length, 1)
  assert.match(
    firmware.regressions[0]!.why[0]!,
    /but SPWF04SA 1\.1\.0 is predicted to pass the new chain: the firmware makes the difference/,
  )
  assert.deepEqual(
    [firmware.regressions[0]!.baselineKey, firmware.regressions[0]!.candidateKey, firmware.regressions[0]!.chain],
    ['SPWF04SA@1.1.0', 'SPWF04SA@1.0.0', 'new intermediate X'],
  )
  assert.equal(diffMarks(firmware).get(`${t.target}\u0000SPWF04SA@1.0.0`), 'regressed')
  // Cannot tell: not comparable, saying why.
  const unsure = diffCells('SPWF04SA@1.1.0', 'run:r2', s.before, s.after, s.order, explain('unknown'))
  assert.deepEqual(unsure.regressions, [])
  assert.match(
    unsure.notComparable[0]!.why[0]!,
    /whether SPWF04SA 1\.1\.0 would fail the new chain too cannot be predicted: not observed/,
  )
  assert.equal(comparedCount(unsure), 0)
  // A fix the chain explains is no fix of the firmware either.
  const f = sides({ verdict: 'fail', class: 'untrusted' }, { verdict: 'pass' })
  const fixed = diffCells('SPWF04SA@1.1.0', 'run:r2', f.before, f.after, f.order, explain('pass'))
  assert.deepEqual(fixed.fixes, [])
  assert.equal(fixed.chainChanged.length, 1)
  // No chain change: a plain regression, no chain sentence.
  const plain = diffCells('SPWF04SA@1.1.0', 'run:r2', s.before, s.after, s.order)
  assert.deepEqual(plain.regressions[0]!.why, ['RSA-4096'])
  assert.equal(plain.regressions[0]!.chain, null)
})

test('diffCells: the same firmware in two runs keeps the regression the chain change made, and says how', () => {
  const s = sides({ verdict: 'pass' }, { verdict: 'fail', class: 'key-unsupported', why: ['RSA-4096'] }, neu, neu)
  const d = diffCells('run:r1', 'run:r2', s.before, s.after, s.order, () => ({
    chain: 'new intermediate X',
    brief: 'new intermediate',
    baselineOnNew: null,
  }))
  assert.equal(d.regressions.length, 1)
  assert.deepEqual(d.regressions[0]!.why, [
    "the server's chain changed between the runs (new intermediate X)",
    'RSA-4096',
  ])
  // The entry's chain sentence, again without certificate names (for summary.txt).
  assert.deepEqual(d.regressions[0]!.chainWhy, {
    text: "the server's chain changed between the runs (new intermediate X)",
    brief: "the server's chain changed between the runs (new intermediate)",
  })
  assert.deepEqual(d.chainChanged, [])
})

test('a fail with candidate CAs left untried is no regression against a pass with a CA it never tried; with that same CA tried, it is', () => {
  const before = { verdict: 'pass' as const, anchors: { passed: ['root'], failed: [] } }
  // The candidate tried only the intermediate (--anchors first) and failed; the root that passed before was never tried.
  const untried = sides(before, { verdict: 'fail', anchors: { passed: [], failed: ['int'] }, untried: ['root'] })
  const d = diffCells('SPWF04SA@1.1.0', 'SPWF04SA@1.0.0', untried.before, untried.after, untried.order)
  assert.equal(d.regressions.length, 0)
  assert.equal(d.notComparable.length, 1)
  assert.match(
    d.notComparable[0]!.why[0]!,
    /SPWF04SA@1\.0\.0 failed with the CA\(s\) it tried only.*run it with --anchors all/,
  )
  // The same root tried and failed on the candidate: the firmware no longer takes what passed before.
  const tried = sides(before, { verdict: 'fail', anchors: { passed: [], failed: ['root'] }, untried: ['int'] })
  const r = diffCells('SPWF04SA@1.1.0', 'SPWF04SA@1.0.0', tried.before, tried.after, tried.order)
  assert.equal(r.regressions.length, 1)
  assert.equal(r.notComparable.length, 0)
})
