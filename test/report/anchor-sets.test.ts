import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SAMPLE_DB } from '../../scripts/docs-sample.js'
import { buildReport } from '../../src/report/model/build.js'
import { fitsStore, provisionCover } from '../../src/report/model/anchors.js'
import type { AnchorSet, ReportModel } from '../../src/report/model/types.js'
import { renderMarkdown } from '../../src/report/render/index.js'
import { HistoryStore, openDb, type Db } from '../../src/store/index.js'

const QUERY = {
  runs: [],
  baseline: null,
  candidate: null,
  tags: [],
  expiryDays: 90,
  title: null,
  now: new Date('2026-11-01T00:00:00Z'),
}

/** For each CA, the passing targets it serves. */
function servedBy(s: AnchorSet): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const p of s.perTarget) for (const a of p.anchors) m.set(a, [...(m.get(a) ?? []), p.target])
  return m
}

// The field-report survey kept in docs/sample (real chains, three firmware): every profile there
// says `store.caSlots: 1` and no bundle, so a recipe of several CAs could never be provisioned.
describe('anchor sets respect the CA store', () => {
  let dir: string
  let db: Db
  let model: ReportModel
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-anchor-sets-'))
    copyFileSync(SAMPLE_DB, join(dir, 'sample.db'))
    db = openDb(join(dir, 'sample.db'))
    model = await buildReport(new HistoryStore(db), QUERY)
  })
  after(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a one-slot store without bundles gets one CA, the one that serves most, and the targets that need another provisioning', () => {
    assert.ok(model.anchorSets.length >= 3)
    for (const s of model.anchorSets) {
      const id = `${s.module}@${s.firmware}`
      assert.deepEqual(s.store, { caSlots: 1, caBundle: false, maxCaBytes: 4092 }, id)
      assert.ok(s.anchors.length <= 1, `${id}: ${s.anchors.length} CAs in a one-CA store`)
      assert.ok(s.limitBytes !== null && s.bytes <= s.limitBytes, id)
      const passing = s.perTarget.map((p) => p.target)
      const uncovered = s.uncovered ?? []
      assert.deepEqual([...s.covers, ...uncovered.map((u) => u.target)].sort(), [...passing].sort(), id)
      const served = servedBy(s)
      const best = Math.max(...[...served.values()].map((t) => t.length))
      assert.equal(served.get(s.anchors[0]!)!.length, best, `${id}: the CA chosen serves the most targets`)
      for (const u of uncovered) assert.ok(!u.anchors.includes(s.anchors[0]!), `${id}: ${u.target}`)
    }
    // The field report's columns that used to get several CAs: now one, and the rest listed.
    const s01 = model.anchorSets.find((s) => s.module === 'SPWF01SA')!
    assert.equal(s01.anchors.length, 1)
    assert.ok((s01.uncovered ?? []).length >= 1)
    const s11 = model.anchorSets.find((s) => s.module === 'SPWF04SA' && s.firmware === '1.1.0')!
    assert.equal(s11.anchors.length, 1)
    assert.ok((s11.uncovered ?? []).length >= 1)
    // What the Markdown says: the store's capacity and the other provisioning, never a set over the limit.
    const md = renderMarkdown(model)
    assert.match(md, /The store holds one CA at a time \(one slot of 4092 bytes, no bundle\)\./)
    assert.match(md, /passing target\(s\) need another provisioning/)
    assert.doesNotMatch(md, /OVER the/)
  })

  test('a profile whose slot takes a PEM bundle gets the smallest full set when it fits, else the bundle that serves most within the slot', async () => {
    // The same survey, judged with profile snapshots that say the slot takes a bundle.
    const runs = db.prepare('SELECT id, profiles FROM runs').all() as Array<{ id: string; profiles: string }>
    for (const r of runs) {
      const profiles = JSON.parse(r.profiles) as Record<string, { store: Record<string, unknown> }>
      for (const p of Object.values(profiles)) p.store.caBundle = true
      db.prepare('UPDATE runs SET profiles = ? WHERE id = ?').run(JSON.stringify(profiles), r.id)
    }
    const bundled = await buildReport(new HistoryStore(db), QUERY)
    const s11 = bundled.anchorSets.find((s) => s.module === 'SPWF04SA' && s.firmware === '1.1.0')!
    assert.equal(s11.store?.caBundle, true)
    assert.equal(s11.anchors.length, 3, 'three CAs in one bundle: they fit')
    assert.ok(s11.bytes <= 4092)
    assert.deepEqual(s11.uncovered, [])
    const s01 = bundled.anchorSets.find((s) => s.module === 'SPWF01SA')!
    // Four PEM CAs would need more than 4092 bytes: the bundle that fits and serves most, the rest listed.
    assert.ok(s01.bytes <= 4092, `${s01.bytes}`)
    assert.ok(s01.anchors.length >= 2 && s01.anchors.length < 4, `${s01.anchors.length}`)
    assert.ok((s01.uncovered ?? []).length >= 1)
  })
})

test('provisionCover: a store of two single-CA slots gets at most two CAs, the pair that serves most', () => {
  const needs = [['a'], ['a', 'b'], ['b'], ['c'], ['c'], ['c'], ['d']]
  const bytes = () => 1000
  const two = { slots: 2, bundle: false, maxBytes: 4096 }
  const r = provisionCover(needs, ['a', 'b', 'c', 'd'], two, bytes)
  assert.deepEqual(r.anchors, ['a', 'c'])
  assert.deepEqual(r.unmet, [2, 6])
  assert.equal(r.exact, true)
  // Unbounded (no known store): the smallest full cover.
  assert.deepEqual(provisionCover(needs, ['a', 'b', 'c', 'd'], null, bytes).anchors, ['a', 'b', 'c', 'd'])
  // A bundle slot fits by bytes: 4 × 1000 in 4096, but not 5 × 1000.
  assert.equal(fitsStore(['a', 'b', 'c', 'd'], { slots: 1, bundle: true, maxBytes: 4096 }, bytes), true)
  assert.equal(fitsStore(['a', 'b', 'c', 'd', 'e'], { slots: 1, bundle: true, maxBytes: 4096 }, bytes), false)
  assert.equal(fitsStore(['a', 'b', 'c'], two, bytes), false)
})
