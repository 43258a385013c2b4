import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import { writeReportJson } from '../../src/report/render/index.js'
import type { Cell, EvidenceSource, ReportModel } from '../../src/report/model/types.js'
import { cell, column, hostileModel, releaseAll, target, transcripts } from './render-fixture.js'

async function render(model: ReportModel, evidence: EvidenceSource): Promise<string> {
  const chunks: Buffer[] = []
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      cb()
    },
  })
  await writeReportJson(model, evidence, out)
  return Buffer.concat(chunks).toString('utf8')
}

test("json: parses, round-trips every model field, and carries each cell's evidence with its transcript", async () => {
  const model = hostileModel()
  const source = transcripts(model)
  const doc = JSON.parse(await render(model, source)) as Record<string, unknown> & {
    cells: Array<Cell & { evidence: { transcript: unknown } }>
  }
  // The README contract's names, in its order first.
  assert.deepEqual(Object.keys(doc).slice(0, 4), ['generatedAt', 'title', 'expiryDays', 'runs'])
  for (const k of [
    'generatedAt',
    'runs',
    'firmware',
    'cells',
    'anchorSets',
    'diff',
    'chainChanges',
    'expiring',
    'disagreements',
  ])
    assert.ok(k in doc, k)
  // Every model field, as it was (hostile strings included), the transcript added to the evidence.
  const { cells, ...rest } = doc
  const { cells: modelCells, ...modelRest } = model
  assert.deepEqual(rest, JSON.parse(JSON.stringify(modelRest)))
  assert.equal(cells.length, modelCells.length)
  for (let i = 0; i < cells.length; i++) {
    const { transcript, ...evidence } = cells[i]!.evidence
    assert.deepEqual({ ...cells[i], evidence }, modelCells[i])
    assert.deepEqual(transcript, source.transcript(modelCells[i]!.evidence.attemptId))
  }
  // Control characters and Latin-1 bytes of the exchange survive exactly.
  assert.match(JSON.stringify(cells[0]!.evidence.transcript), /\\u0000\u00ff/)
  assert.equal((cells[0]!.evidence.transcript as Array<{ data: string }>)[1]!.data.endsWith('\r\n\x00\xff'), true)
})

test('json: an empty report is still a whole document', async () => {
  const model: ReportModel = {
    ...hostileModel(),
    cells: [],
    diff: null,
    chainChanges: [],
    expiring: [],
    anchorSets: [],
    statements: [],
    disagreements: 0,
  }
  const doc = JSON.parse(await render(model, transcripts(model))) as { cells: unknown[]; diff: unknown }
  assert.deepEqual(doc.cells, [])
  assert.equal(doc.diff, null)
})

test('json: cells are written one at a time, a transcript read only when its cell is written, waiting on a full output', async () => {
  const base = hostileModel()
  const col = column('SPWF04SA', '1.1.0')
  const t = target('bulk.test:443', [])
  const model: ReportModel = { ...base, cells: Array.from({ length: 2_000 }, () => cell(t, col, { verdict: 'pass' })) }
  const source = transcripts(model)
  const big: EvidenceSource = {
    transcript: (id) => [{ dir: 'rx', t: 0, data: `${id}:`.padEnd(2_000, 'x') }, ...source.transcript(id)],
  }
  const held: Array<() => void> = []
  const chunks: Buffer[] = []
  const out = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      held.push(() => cb())
    },
  })
  let finished = false
  const done = writeReportJson(model, big, out).then(() => {
    finished = true
  })
  let last = -1
  for (let i = 0; i < 10_000 && source.asked.length !== last; i++) {
    last = source.asked.length
    for (let j = 0; j < 5; j++) await tick()
  }
  assert.equal(finished, false)
  assert.ok(source.asked.length < 50, `${source.asked.length} transcripts read while the reader took nothing`)
  await releaseAll(out, held, () => finished)
  await done
  const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    cells: Array<{ evidence: { attemptId: number; transcript: Array<{ data: string }> } }>
  }
  assert.equal(doc.cells.length, 2_000)
  for (const c of doc.cells) assert.ok(c.evidence.transcript[0]!.data.startsWith(`${c.evidence.attemptId}:`))
})
