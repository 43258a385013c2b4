import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
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
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        's01=emu:spwf01sa-3.5.3?no-dns',
        '--device',
        'esp=emu:esp-at-4.1-esp32?no-dns',
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
      .filter((a) => a.final && a.device === 's01' && a.host === 'aia.basic.test')
      .map((a) => [a.anchor.subject, a.anchor.source, a.outcome, a.class])
      .sort()
    assert.deepEqual(aia, [
      ['CN=tlsmatrix Lab Intermediate AIA, O=tlsmatrix lab', 'aia', 'pass', null],
      ['CN=tlsmatrix Lab Root RSA 2048, O=tlsmatrix lab', 'store', 'fail', 'untrusted'],
    ])
  })

  test('the report says it passes only with the intermediate uploaded, and never that the module does not reach it', () => {
    const cell = model.cells.find((c) => c.host === 'aia.basic.test' && c.module === 'SPWF01SA')!
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
    // The same finding for the ESP32 (ESP-AT builds its path by signature too).
    const statements = model.statements
      .filter((s) => s.target === cell.target)
      .map((s) => s.text)
      .sort()
    assert.equal(statements.length, 2, statements.join('\n'))
    assert.match(
      statements[0]!,
      /^ESP32 reaches aia\.basic\.test(:\d+)? on 4\.1\.1, the only firmware surveyed, only with the intermediate .*AIA.* uploaded$/,
    )
    assert.match(
      statements[1]!,
      /^SPWF01SA reaches aia\.basic\.test(:\d+)? on 3\.5\.3, the only firmware surveyed, only with the intermediate .*AIA.* uploaded$/,
    )
    assert.ok(!model.statements.some((s) => /does not reach/.test(s.text)))
    // A server that sends its intermediate: the root passes, no "only with" finding.
    const rsa = model.cells.find((c) => c.host === 'rsa2048.basic.test' && c.module === 'SPWF01SA')!
    assert.equal(rsa.verdict, 'pass')
    assert.equal(rsa.onlyIntermediate, false)
    assert.match(model.certificates[rsa.anchors.passed[0]!]!.subject, /Root RSA 2048/)
  })

  test('report --format pem: per firmware, the recommended CAs as a PEM bundle that parses, each chaining to the trust store, with the targets it serves', async () => {
    const out = join(dir, 'pem')
    const io = testIo({ inProcess: true })
    const code = await run(['report', '--db', join(dir, 'run.db'), '--format', 'pem', '--out', out], io)
    assert.equal(code, 0, io.err())
    assert.deepEqual(readdirSync(out).sort(), ['ca-ESP32-4.1.1.pem', 'ca-SPWF01SA-3.5.3.pem'])
    const store = [
      ...readFileSync(lab.trustStoreFile, 'utf8').matchAll(
        /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
      ),
    ].map((m) => new X509Certificate(m[0]))
    /** Signature-checked up to a certificate of the trust store. */
    const chainsToStore = (c: X509Certificate, depth = 0): boolean =>
      store.some((s) => s.fingerprint256 === c.fingerprint256) ||
      (depth < 4 && store.some((s) => c.checkIssued(s) && c.verify(s.publicKey) && chainsToStore(s, depth + 1)))
    const parse = (file: string) => {
      const text = readFileSync(join(out, file), 'utf8')
      // Outside the blocks only comments: no line a parser could take for a boundary.
      const outside = text.replace(/-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n/g, '')
      for (const line of outside.split('\n')) assert.ok(line === '' || line.startsWith('# '), `${file}: ${line}`)
      assert.doesNotMatch(outside, /--/)
      const certs = [...text.matchAll(/-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----/g)].map(
        (m) => new X509Certificate(m[0]),
      )
      for (const c of certs) assert.ok(chainsToStore(c), `${file}: ${c.subject} chains to the trust store`)
      return { text, certs }
    }
    // SPWF01SA: one CA at a time, so one CA; the other target is listed for another provisioning.
    const s01 = parse('ca-SPWF01SA-3.5.3.pem')
    assert.equal(s01.certs.length, 1)
    assert.match(s01.text, /^# The store holds one CA at a time/m)
    assert.match(s01.text, /^# 1 passing target\(s\) need another provisioning/m)
    // ESP-AT: the slot takes a bundle: the root and the AIA intermediate, each with the target it serves.
    const esp = parse('ca-ESP32-4.1.1.pem')
    assert.deepEqual(esp.certs.map((c) => /CN=([^\n]+)/.exec(c.subject)![1]).sort(), [
      'tlsmatrix Lab Intermediate AIA',
      'tlsmatrix Lab Root RSA 2048',
    ])
    assert.match(esp.text, /^# {3}serves 1 target\(s\): aia\.basic\.test:\d+$/m)
    assert.match(esp.text, /^# {3}serves 1 target\(s\): rsa2048\.basic\.test:\d+$/m)
    assert.match(esp.text, /an intermediate \(issued by CN=tlsmatrix Lab Root RSA 2048/)
    assert.doesNotMatch(esp.text, /need another provisioning/)
  })
})
