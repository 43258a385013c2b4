import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { buildStatements, cellId } from '../../src/report/model/statements.js'
import type { Cell, ReportModel } from '../../src/report/model/types.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'
import { cell, column, target } from './render-fixture.js'

// out-of-order.basic.test sends leaf, root, intermediate. The SPWF04SA (ski-aki) has two candidate
// CAs for it: the root (preferred, predicted to fail: it verifies in the order sent) and the
// intermediate (passes). `--anchors first` tries the root only: its fail is no "does not reach".
describe('a fail with candidate CAs left untried (--anchors first) is never "does not reach"', () => {
  let lab: RunningLab
  let dir: string
  let hosts: string
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-statements-'))
    hosts = join(dir, 'hosts.txt')
    const h = lab.hosts.find((x) => x.name === 'out-of-order.basic.test')!
    writeFileSync(hosts, `${h.name}:${h.port}\n`)
  })
  after(async () => {
    await lab?.close()
  })

  async function surveyAndReport(anchors: string): Promise<ReportModel> {
    const db = join(dir, `${anchors}.db`)
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        'a=emu:spwf04sa-1.1.0?no-dns',
        '--anchors',
        anchors,
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--db',
        db,
        '--json',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const out = join(dir, `${anchors}-out`)
    const r = testIo({ inProcess: true })
    assert.equal(await run(['report', '--db', db, '--out', out, '--format', 'json'], r), 0, r.err())
    return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
  }

  test('--anchors first: the statement says which CA was tried and that another was not', async () => {
    const m = await surveyAndReport('first')
    const c = m.cells[0]!
    assert.equal(c.verdict, 'fail')
    assert.equal(c.untried?.length, 1, 'the intermediate is a candidate the run did not try')
    assert.match(m.certificates[c.untried[0]!]!.name, /Intermediate/)
    assert.equal(m.statements.length, 1)
    const text = m.statements[0]!.text
    assert.doesNotMatch(text, /does not reach/)
    assert.match(
      text,
      /^SPWF04SA 1\.1\.0 failed out-of-order\.basic\.test:\d+ with the one CA tried \("CN=tlsmatrix Lab Root RSA 2048[^"]*"\); 1 other candidate CA was not tried \(--anchors first tries only the preferred one\): run with --anchors all$/,
    )
    // The cell's why says it too, naming the CA not tried.
    assert.ok(
      c.why.some((w) => /1 other candidate CA \("CN=tlsmatrix Lab Intermediate[^"]*"\) was not tried/.test(w)),
      c.why.join('\n'),
    )
  })

  test('--anchors all: every candidate tried, the intermediate passes', async () => {
    const m = await surveyAndReport('all')
    const c = m.cells[0]!
    assert.equal(c.verdict, 'pass')
    assert.equal(c.untried, undefined)
    assert.match(
      m.statements[0]!.text,
      /^SPWF04SA reaches out-of-order\.basic\.test:\d+ on 1\.1\.0, the only firmware surveyed, only with the intermediate "CN=tlsmatrix Lab Intermediate/,
    )
  })
})

describe('statement wording', () => {
  const one = column('ESP32-C3', '3.3.0')
  const v100 = column('SPWF04SA', '1.0.0')
  const v110 = column('SPWF04SA', '1.1.0')
  const ok = target('ok.example', [])
  const bad = target('bad.example', [], 'fail')
  const name = (sha: string) => `CA ${sha.slice(0, 2)}`
  function statements(cells: Cell[], cols = [v100, v110], targets = [ok, bad]): string[] {
    const map = new Map(cells.map((c) => [cellId(c.target, c.key), c]))
    return buildStatements(cols, map, targets, name).map((s) => s.text)
  }

  test('one firmware surveyed is named as the only one, not "from"', () => {
    assert.deepEqual(statements([cell(ok, one, {})], [one], [ok]), [
      'ESP32-C3 reaches ok.example on 3.3.0, the only firmware surveyed',
    ])
  })

  test('every firmware passing is "on every firmware surveyed"; a later pass is "from"', () => {
    assert.deepEqual(statements([cell(ok, v100, {}), cell(ok, v110, {})], [v100, v110], [ok]), [
      'SPWF04SA reaches ok.example on every firmware surveyed (1.0.0, 1.1.0)',
    ])
    assert.deepEqual(
      statements([cell(ok, v100, { verdict: 'fail', class: 'handshake' }), cell(ok, v110, {})], [v100, v110], [ok]),
      ['SPWF04SA reaches ok.example from 1.1.0'],
    )
  })

  test('a must-reject target rejected everywhere is "rejects … as expected", accepted is said so', () => {
    const fail = { verdict: 'fail' as const, class: 'untrusted' as const }
    assert.deepEqual(statements([cell(bad, v100, fail), cell(bad, v110, fail)], [v100, v110], [bad]), [
      'SPWF04SA rejects bad.example on every firmware surveyed (1.0.0, 1.1.0), as expected (expect=fail)',
    ])
    assert.deepEqual(statements([cell(bad, v100, fail), cell(bad, v110, {})], [v100, v110], [bad]), [
      'SPWF04SA accepts bad.example on 1.1.0, though it must reject it (expect=fail); it rejects it on 1.0.0',
    ])
  })

  test('a fail with untried candidates is left out of "does not reach" and "but not on"', () => {
    const partial = {
      verdict: 'fail' as const,
      class: 'untrusted' as const,
      anchors: { passed: [], failed: ['aa'.repeat(32)] },
      untried: ['bb'.repeat(32), 'cc'.repeat(32)],
    }
    const full = { verdict: 'fail' as const, class: 'untrusted' as const }
    assert.deepEqual(statements([cell(ok, v100, full), cell(ok, v110, partial)], [v100, v110], [ok]), [
      'SPWF04SA does not reach ok.example on 1.0.0; SPWF04SA 1.1.0 failed ok.example with the one CA tried ("CA aa"); 2 other candidate CAs were not tried (--anchors first tries only the preferred one): run with --anchors all',
    ])
    const text = statements([cell(ok, v100, {}), cell(ok, v110, partial)], [v100, v110], [ok])[0]!
    assert.doesNotMatch(text, /but not on/)
    assert.match(text, /^SPWF04SA reaches ok\.example from 1\.0\.0; SPWF04SA 1\.1\.0 failed ok\.example with/)
  })
})
