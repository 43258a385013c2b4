import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { CHUNK_CHARS } from '../../src/report/render/write-pieces.js'
import { FULL_EVIDENCE_MAX_CELLS, htmlPieces, writeHtmlReport } from '../../src/report/render/html.js'
import { LARGE_LIST_MAX } from '../../src/report/render/html-context.js'
import { fixtureEvidence, fixtureModel } from './html-fixture.js'

/** A slow sink with a small buffer that records every write made while it had asked to drain. */
class SlowSink extends Writable {
  chunks: string[] = []
  overruns = 0
  constructor(private readonly failAfter = Infinity) {
    super({ highWaterMark: 1024, decodeStrings: false })
  }
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (this.writableNeedDrain) this.overruns++
    return (super.write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }
  override _write(chunk: string, _enc: string, done: (err?: Error) => void): void {
    this.chunks.push(chunk)
    if (this.chunks.length >= this.failAfter) {
      setImmediate(() => this.destroy())
      return
    }
    setImmediate(done)
  }
}

test('the page is written in chunks, waiting for drain each time the stream asks', async () => {
  // Enough cells for many chunks: the fixture's rows repeated under new names.
  const model = fixtureModel()
  const extra = Array.from({ length: 300 }, (_, i) =>
    model.cells.map((c) => ({ ...c, target: `t${i}-${c.target}` })),
  ).flat()
  model.cells.push(...extra)
  model.targets.push(
    ...Array.from({ length: 300 }, (_, i) => model.targets.map((t) => ({ ...t, target: `t${i}-${t.target}` }))).flat(),
  )
  const sink = new SlowSink()
  await writeHtmlReport(model, fixtureEvidence(), sink)
  assert.equal(sink.overruns, 0, 'no write while the stream asked to drain')
  assert.ok(sink.chunks.length > 10, `written in pieces (${sink.chunks.length} chunks)`)
  assert.ok(
    sink.chunks.every((c) => c.length < 2 * CHUNK_CHARS),
    'no chunk far above the chunk size',
  )
  assert.equal(sink.chunks.join(''), [...htmlPieces(model, fixtureEvidence())].join(''))
})

test('an output closed half-way ends the render with an error instead of waiting forever', async () => {
  const sink = new SlowSink(2)
  await assert.rejects(writeHtmlReport(fixtureModel(), fixtureEvidence(), sink), /closed before the report was written/)
})

test('untrusted text is escaped everywhere and the page refers to nothing outside itself', () => {
  const html = [...htmlPieces(fixtureModel(), fixtureEvidence())].join('')
  assert.equal(html.match(/<script/gi)?.length, 1, "one script element: the page's own")
  assert.ok(!/alert\(/.test(html.slice(html.lastIndexOf('<script>'))), 'the script block carries no data')
  assert.ok(!/<(img|svg|iframe|object|embed|link)\b/i.test(html))
  assert.ok(html.includes('CN=&lt;script&gt;alert(1)&lt;/script&gt; | =HYPERLINK(&quot;x&quot;)'))
  assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(3)&gt;'))
  assert.ok(
    html.includes('data-tags="[&quot;web&quot;,&quot;a\\&quot;b&lt;i&gt;&quot;]"'),
    'tags in an attribute, escaped',
  )
  assert.deepEqual(html.match(/\b(?:src|href|action)="(?!#)[^"]*"/g) ?? [], [], 'every link is within the page')
  assert.ok(!/url\(/i.test(html) && !/@import/i.test(html), 'the style sheet fetches nothing')
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/)
  // Every cell's evidence is on the page, linked from the matrix.
  for (let i = 0; i < fixtureModel().cells.length; i++) {
    assert.ok(html.includes(`<div id="c${i}">`) && html.includes(`href="#c${i}"`), `cell ${i} has its evidence`)
  }
})

test('a large report keeps transcripts for the cells worth reading and says the rest are in report.json', () => {
  const model = fixtureModel()
  const calls: number[] = []
  const html = [...htmlPieces(model, fixtureEvidence(calls), { fullEvidenceMaxCells: 4 })].join('')
  const notable = model.cells
    .filter((c) => c.verdict !== 'pass' || c.unsafe || c.disagree || c.mismatch)
    .map((c) => c.evidence.attemptId)
  assert.deepEqual(calls, notable)
  assert.ok(notable.length < model.cells.length)
  assert.match(html, /Every cell's evidence, transcript included, is in <code>report\.json<\/code>/)
  // Ordinary passes have no evidence block, and their matrix cells link nowhere.
  const ordinary = model.cells.findIndex((c) => !notable.includes(c.evidence.attemptId))
  assert.ok(ordinary >= 0)
  assert.ok(!html.includes(`id="c${ordinary}"`) && !html.includes(`href="#c${ordinary}"`))

  const all: number[] = []
  const small = [...htmlPieces(model, fixtureEvidence(all))].join('')
  assert.equal(all.length, model.cells.length, 'under the limit, every cell has its transcript')
  assert.ok(!small.includes('is in <code>report.json'))
  assert.equal(FULL_EVIDENCE_MAX_CELLS, 20_000)
})

test('a large report lists the first LARGE_LIST_MAX findings of each kind and says how many more report.json holds', () => {
  const base = fixtureModel()
  const failed = base.cells.find((c) => c.verdict === 'fail')!
  // 1,200 failing cells: over the list limit.
  const cells = Array.from({ length: 1200 }, (_, i) => ({
    ...failed,
    target: `t${i}.example:443`,
    evidence: { ...failed.evidence, attemptId: 10_000 + i },
  }))
  const model = {
    ...base,
    cells,
    targets: cells.map((c) => ({
      target: c.target,
      host: c.host,
      port: c.port,
      path: '/',
      tags: c.tags,
      expect: c.expect,
    })),
  }
  const calls: number[] = []
  const html = [...htmlPieces(model, fixtureEvidence(calls), { fullEvidenceMaxCells: 10 })].join('')
  assert.equal(calls.length, LARGE_LIST_MAX, 'evidence blocks for the first LARGE_LIST_MAX cells worth reading')
  assert.match(html, new RegExp(`The first ${LARGE_LIST_MAX} of 1200 are listed`))
  assert.equal((html.match(/<article class="failure">/g) ?? []).length, LARGE_LIST_MAX)
})

test('a large report splits the matrix into chunks laid out when shown, offers no sort, and keeps every row', () => {
  const base = fixtureModel()
  const pass = base.cells.find((c) => c.verdict === 'pass' && !c.unsafe && !c.disagree)!
  const cells = Array.from({ length: 600 }, (_, i) => ({ ...pass, target: `t${i}.example:443` }))
  const model = {
    ...base,
    cells,
    targets: cells.map((c) => ({
      target: c.target,
      host: c.host,
      port: c.port,
      path: '/',
      tags: c.tags,
      expect: null,
    })),
  }
  const html = [...htmlPieces(model, fixtureEvidence([]), { fullEvidenceMaxCells: 10 })].join('')
  assert.equal((html.match(/<div class="chunk">/g) ?? []).length, 3)
  assert.equal((html.match(/<tr data-row /g) ?? []).length, 600)
  assert.ok(!html.includes('matrix sortable'))
  assert.match(html, /<body class="large">/)
  const small = [...htmlPieces(base, fixtureEvidence([]))].join('')
  assert.ok(
    small.includes('matrix sortable') && !small.includes('class="chunk"') && !small.includes('<body class="large">'),
  )
})

test('regressions come first: the header counts them and the fixes, a banner names them, and the matrix marks and filters their cells', () => {
  const model = fixtureModel()
  const regression = model.diff!.regressions[0]!
  const html = [...htmlPieces(model, fixtureEvidence())].join('')
  const header = html.slice(html.indexOf('<header>'), html.indexOf('</header>'))
  assert.match(
    header,
    /Diff run-a &rarr; run-b: <span class="fail">&#9660; 1 regression\(s\)<\/span>, <span class="pass">&#9650; 0 fix\(es\)<\/span>/,
  )
  assert.match(
    header,
    /<p class="banner" id="regressions-banner">&#9660; 1 regression\(s\) from run-a to run-b: hostile\.example:443 on SPWF04SA@1\.0\.0\. <a href="#diff">/,
  )
  // The regressed cell (its target, the candidate's firmware) is marked; the other column of that target is not.
  const row = html.slice(
    html.indexOf(`<tr data-row data-order="1"`),
    html.indexOf('</tr>', html.indexOf(`<tr data-row data-order="1"`)),
  )
  assert.match(row, new RegExp(`data-verdicts="[^"]*\\bregressed\\b`))
  const cells = row.split('<td').slice(1)
  assert.match(cells[0]!, /<span class="flag">&#9660; regressed<\/span>/)
  assert.doesNotMatch(cells[1]!, /regressed/)
  assert.equal(regression.candidateKey, 'SPWF04SA@1.0.0')
  assert.match(
    html,
    /<option value="regressed">&#9660; regressed<\/option><option value="fixed">&#9650; fixed<\/option>/,
  )
  // The diff names each side's firmware.
  const diff = html.slice(
    html.indexOf('<section id="diff"'),
    html.indexOf('</section>', html.indexOf('<section id="diff"')),
  )
  assert.match(diff, /<td><span class="small">SPWF04SA@1\.0\.0<\/span><span class="pass">/)
  // No regression, no banner and no mark.
  const calm = fixtureModel()
  calm.diff = { ...calm.diff!, regressions: [] }
  const quiet = [...htmlPieces(calm, fixtureEvidence())].join('')
  assert.doesNotMatch(quiet, /regressions-banner|<span class="flag">&#9660; regressed/)
})
