import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { buildReport } from '../../src/report/model/build.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { HistoryStore, openDb } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

interface RunJson {
  runId: string
  attempts: Array<{
    host: string
    device: string
    anchor: { subject: string; source: string }
    final: boolean
    outcome: string
    class: string | null
  }>
}

// aia.basic.test sends its leaf alone; the intermediate is only reachable through AIA. A module
// that builds its path by signature (SPWF01SA, anchorMatch path) reaches it with the intermediate
// uploaded, never with the root: the report must say so, not "fail untrusted".
describe('an AIA-only chain on a path-building module (SPWF01SA, emulated) passes with the intermediate', () => {
  let lab: RunningLab
  let dir: string
  let json: RunJson
  let model: ReportModel
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-aia-'))
    const hosts = join(dir, 'hosts.txt')
    const pick = ['aia.basic.test', 'rsa2048.basic.test']
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => pick.includes(h.name))
        .map((h) => `${h.name}:${h.port}`)
        .join('\n'),
    )
    const io = testIo()
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        's01=emu:spwf01sa-3.5.3?no-dns',
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--aia-allow-private',
        '--db',
        join(dir, 'run.db'),
        '--json',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    json = JSON.parse(io.out()) as RunJson
    const db = openDb(join(dir, 'run.db'))
    try {
      model = await buildReport(new HistoryStore(db), {
        runs: [],
        baseline: null,
        candidate: null,
        tags: [],
        expiryDays: 90,
        title: null,
        now: new Date(),
      })
    } finally {
      db.close()
    }
  })
  after(async () => lab.close())

  test('the module is given the AIA intermediate as well as the root: the intermediate passes, the root fails', () => {
    const aia = json.attempts
      .filter((a) => a.final && a.host === 'aia.basic.test')
      .map((a) => [a.anchor.subject, a.anchor.source, a.outcome, a.class])
      .sort()
    assert.deepEqual(aia, [
      ['CN=tlsmatrix Lab Intermediate AIA, O=tlsmatrix lab', 'aia', 'pass', null],
      ['CN=tlsmatrix Lab Root RSA 2048, O=tlsmatrix lab', 'store', 'fail', 'untrusted'],
    ])
  })

  test('the report says it passes only with the intermediate uploaded, and never that the module does not reach it', () => {
    const cell = model.cells.find((c) => c.host === 'aia.basic.test')!
    assert.equal(cell.verdict, 'pass')
    assert.equal(cell.onlyIntermediate, true)
    assert.equal(cell.complete, true)
    assert.ok(
      cell.why.some((w) =>
        /^passes only with the intermediate .*Intermediate AIA.* uploaded \(the server does not send it: found through AIA\); with the root .*Root RSA 2048.* it fails \(untrusted\)/.test(
          w,
        ),
      ),
      cell.why.join('\n'),
    )
    const statements = model.statements.filter((s) => s.target === cell.target).map((s) => s.text)
    assert.equal(statements.length, 1, statements.join('\n'))
    assert.match(
      statements[0]!,
      /^SPWF01SA reaches aia\.basic\.test(:\d+)? from 3\.5\.3, only with the intermediate .*AIA.* uploaded$/,
    )
    assert.ok(!model.statements.some((s) => /does not reach/.test(s.text)))
    // A server that sends its intermediate: the root passes, no "only with" finding.
    const rsa = model.cells.find((c) => c.host === 'rsa2048.basic.test')!
    assert.equal(rsa.verdict, 'pass')
    assert.equal(rsa.onlyIntermediate, false)
    assert.match(model.certificates[rsa.anchors.passed[0]!]!.subject, /Root RSA 2048/)
  })
})
