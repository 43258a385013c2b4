import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

interface RunJson {
  runId: string
  status: string
  devices: Array<{
    label: string
    module: string
    firmware: string
    profile: string
    uploads: number
    requests: number
  }>
  attempts: Array<{
    host: string
    port: number
    device: string
    firmware: string
    anchor: { sha256: string; subject: string; source: string }
    outcome: string
    class: string | null
    lines: string[]
    httpStatus: number | null
    final: boolean
    try: number
    reason: { reason: string; detail: string } | null
  }>
}

describe('tlsmatrix run against the basic lab, two firmware profiles at once', () => {
  let lab: RunningLab
  let dir: string
  let json: RunJson
  let code: number
  const warnings: string[] = []
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-run-'))
    const hosts = join(dir, 'hosts.txt')
    const pick = [
      'rsa2048',
      'rsa4096-int',
      'ecdsa',
      'ecdhe-only',
      'cross',
      'aia',
      'expired',
      'wrong-host',
      'many-sans',
      'self-signed',
    ].map((n) => `${n}.basic.test`)
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => pick.includes(h.name))
        .map((h) => `${h.name}:${h.port}${h.expect ? ` expect=${h.expect}` : ''}`)
        .join('\n'),
    )
    const io = testIo({ inProcess: true })
    // Node's warnings go to the user's terminal: a run prints none (a "possible memory leak" warning was seen at 11 targets).
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
    process.on('warning', onWarning)
    code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        'old=emu:spwf04sa-1.0.0?no-dns',
        '--device',
        'new=emu:spwf04sa-1.1.0?no-dns',
        '--db',
        join(dir, 'run.db'),
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--aia-allow-private',
        '--json',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    json = JSON.parse(io.out()) as RunJson
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r))
    process.off('warning', onWarning)
  })
  after(async () => lab.close())

  const verdicts = (device: string, host: string) =>
    json.attempts.filter((a) => a.final && a.device === device && a.host === host)
  const cell = (device: string, host: string) => {
    const v = verdicts(device, host)
    return v.some((a) => a.outcome === 'pass') ? 'pass' : [...new Set(v.map((a) => a.class ?? a.outcome))].join(',')
  }

  test('the run prints no Node warning (many resolutions listening to one stop signal is no leak)', () => {
    assert.deepEqual(warnings, [])
  })

  test('devices are identified on the wire and matched to their profiles', () => {
    assert.deepEqual(
      json.devices.map((d) => [d.label, d.module, d.firmware, d.profile]),
      [
        ['old', 'SPWF04SA', '1.0.0', 'spwf04sa-1.0.0'],
        ['new', 'SPWF04SA', '1.1.0', 'spwf04sa-1.1.0'],
      ],
    )
    assert.equal(json.status, 'complete')
  })

  test('the recorded matrix is what the profiles imply for each lab host', () => {
    const expected: Record<string, [string, string]> = {
      'rsa2048.basic.test': ['pass', 'pass'],
      'rsa4096-int.basic.test': ['key-unsupported', 'key-unsupported'],
      'ecdsa.basic.test': ['handshake', 'pass'],
      'ecdhe-only.basic.test': ['handshake', 'pass'],
      'cross.basic.test': ['pass', 'pass'],
      'aia.basic.test': ['pass', 'pass'],
      'expired.basic.test': ['expired', 'expired'],
      'wrong-host.basic.test': ['hostname', 'hostname'],
      'many-sans.basic.test': ['too-large', 'too-large'],
      // expect=fail with no candidate: sent with the anchor the run uses most, and rejected.
      'self-signed.basic.test': ['untrusted', 'untrusted'],
    }
    for (const [host, [old, neu]] of Object.entries(expected)) {
      assert.equal(cell('old', host), old, `old ${host}`)
      assert.equal(cell('new', host), neu, `new ${host}`)
    }
  })

  test('every candidate root is tried: both roots of the cross-sign, and the intermediate found through AIA', () => {
    const cross = verdicts('new', 'cross.basic.test')
    assert.ok(
      cross.some((a) => /Root G1/.test(a.anchor.subject)) && cross.some((a) => /Root G2/.test(a.anchor.subject)),
      cross.map((a) => a.anchor.subject).join('; '),
    )
    assert.ok(cross.every((a) => a.outcome === 'pass'))
    const aia = verdicts('old', 'aia.basic.test')
    assert.deepEqual(
      aia.map((a) => [a.anchor.source, a.outcome]),
      [['aia', 'pass']],
    )
    const selfSigned = verdicts('old', 'self-signed.basic.test')
    assert.deepEqual(
      selfSigned.map((a) => [a.outcome, a.reason]),
      [['fail', null]],
    )
  })

  test('uploads per device equal the distinct anchors it tried', () => {
    for (const d of json.devices) {
      const anchors = new Set(
        json.attempts.filter((a) => a.device === d.label && a.outcome !== 'not-run').map((a) => a.anchor.sha256),
      )
      assert.equal(d.uploads, anchors.size, d.label)
      assert.ok(d.requests >= anchors.size)
    }
  })

  test("the module's own lines are kept with each verdict, and the run exits 1 only for expect mismatches", () => {
    const big = verdicts('old', 'rsa4096-int.basic.test')[0]!
    assert.deepEqual(big.lines, [
      'AT-S.Certificate Error:22',
      'AT-S.Http Client Error:2',
      'AT-S.ERROR:111:Request failed',
    ])
    assert.equal(code, 0, 'expired, wrong-host and self-signed are expect=fail and fail')
  })

  test('one verdict per (target, anchor, device) in the database, with transcripts', () => {
    const db = openDb(join(dir, 'run.db'))
    const rows = db
      .prepare(
        'SELECT device, target, anchor_sha256, count(*) n FROM attempts WHERE run_id = ? AND final = 1 GROUP BY 1, 2, 3 HAVING n > 1',
      )
      .all(json.runId)
    assert.deepEqual(rows, [])
    const t = db
      .prepare("SELECT transcript FROM attempts WHERE run_id = ? AND outcome = 'pass' LIMIT 1")
      .get(json.runId) as { transcript: string }
    assert.match(t.transcript, /AT\+S\.HTTPGET=/)
    assert.equal(new RunStore(db, 'x').getRun(json.runId)?.status, 'complete')
    db.close()
  })
})
