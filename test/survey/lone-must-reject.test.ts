import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { buildReport } from '../../src/report/model/build.js'
import { HistoryStore, openDb } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

let lab: RunningLab
let dir: string
before(async () => {
  lab = await startTestLab()
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lone-reject-'))
})
after(async () => lab.close())

// A hosts file with one target, which must be refused: its rejection is what is tested, so it is
// sent with a trust-store CA rather than recorded `not-run no-anchor`.
test('a must-reject target alone in a hosts file is attempted with a trust-store CA, and the run and report say which and why', async () => {
  const h = lab.hosts.find((x) => x.name === 'self-signed.basic.test')!
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, `${h.name}:${h.port} expect=fail\n`)
  const io = testIo({ inProcess: true })
  const code = await run(
    [
      'run',
      '--hosts',
      hosts,
      '--device',
      'emu:spwf04sa-1.1.0?no-dns',
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      join(dir, 'run.db'),
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  assert.equal(code, 0, `${io.out()}\n${io.err()}`)
  // The matrix: a verdict, the expected one (untrusted), not a not-run.
  assert.match(io.out(), /self-signed\.basic\.test:\d+ expect=fail +FAIL untrusted/)
  // The why section names the CA and why it was chosen.
  assert.match(
    io.out(),
    /\(no CA of its own, and no trust-store CA is related to its chain: tried with "CN=tlsmatrix Lab Root [^"]+", the smallest trust-store CA the module can store/,
  )
  const db = openDb(join(dir, 'run.db'))
  try {
    const model = await buildReport(new HistoryStore(db), {
      runs: [],
      baseline: null,
      candidate: null,
      tags: [],
      expiryDays: 90,
      title: null,
      now: new Date(),
    })
    const cell = model.cells[0]!
    assert.equal(cell.verdict, 'fail')
    assert.equal(cell.class, 'untrusted')
    assert.equal(cell.mismatch, false)
    assert.ok(
      cell.why.some((w) => /^no CA of its own, .*tried with "CN=tlsmatrix Lab Root/.test(w)),
      cell.why.join('\n'),
    )
    assert.match(model.certificates[cell.anchors.failed[0]!]!.subject, /tlsmatrix Lab Root/)
  } finally {
    db.close()
  }
})
