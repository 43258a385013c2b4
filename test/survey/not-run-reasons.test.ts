import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { startLab, validateLabSpec, type RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

interface RunJson {
  runId: string
  status: string
  attempts: Array<{
    host: string
    device: string
    anchor: { sha256: string; subject: string }
    final: boolean
    outcome: string
    class: string | null
    reason: { reason: string; detail: string } | null
  }>
}

describe('targets without a verdict say why; a self-signed CA:TRUE server is never its own anchor', () => {
  let lab: RunningLab
  let dir: string
  before(async () => {
    // `openssl req -x509` makes CA:TRUE self-signed certificates: one such host beside an ordinary one.
    const spec = validateLabSpec(
      {
        name: 'selfca',
        certificates: {
          root: { subject: 'CN=selfca Root', key: 'rsa-2048', issuer: 'self', ca: true, trust: true },
          leaf: { subject: 'CN=ok.selfca.test', key: 'rsa-2048', issuer: 'root', sans: ['ok.selfca.test'] },
          own: { subject: 'CN=own.selfca.test', key: 'rsa-2048', issuer: 'self', ca: true, sans: ['own.selfca.test'] },
        },
        hosts: {
          'ok.selfca.test': { certificate: 'leaf', send: ['leaf'] },
          'own.selfca.test': { certificate: 'own', send: ['own'], expect: 'fail' },
        },
      },
      'test',
    )
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-reasons-'))
    lab = await startLab(spec, { cacheDir: join(dir, 'cache'), now: new Date(), ephemeralPorts: true })
  })
  after(async () => lab.close())

  for (const profile of ['spwf04sa-1.1.0', 'spwf01sa-3.5.3']) {
    test(`${profile}: the must-reject self-signed CA host is sent with the other anchor and fails`, async () => {
      const io = testIo({ inProcess: true })
      const code = await run(
        [
          'run',
          '--hosts',
          lab.hostsFile,
          '--device',
          `emu:${profile}?no-dns`,
          '--trust-store',
          lab.trustStoreFile,
          '--trust-store-only',
          '--db',
          join(dir, `${profile}.db`),
          '--json',
          ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
        ],
        io,
      )
      assert.equal(code, 0, io.err())
      const j = JSON.parse(io.out()) as RunJson
      const own = j.attempts.filter((a) => a.final && a.host === 'own.selfca.test')
      assert.deepEqual(
        own.map((a) => [a.outcome, a.anchor.subject]),
        [['fail', 'CN=selfca Root']],
      )
      const ok = j.attempts.filter((a) => a.final && a.host === 'ok.selfca.test')
      assert.deepEqual(
        ok.map((a) => a.outcome),
        ['pass'],
      )
    })
  }
})

describe('unresolved targets', () => {
  let lab: RunningLab
  let dir: string
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-unresolved-'))
  })
  after(async () => lab.close())

  test('the matrix shows the cause (timeout, not-tls, reset) of a target that could not be resolved, not no-anchor', async () => {
    const hosts = join(dir, 'hosts.txt')
    const pick = ['stall', 'plain-http', 'hangup', 'rsa2048'].map((n) => `${n}.basic.test`)
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => pick.includes(h.name))
        .map((h) => `${h.name}:${h.port}`)
        .join('\n'),
    )
    const io = testIo({ inProcess: true })
    const db = join(dir, 'u.db')
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
        '--timeout-ms',
        '800',
        '--db',
        db,
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const row = (h: string) =>
      io
        .out()
        .split('\n')
        .find((l) => l.startsWith(h)) ?? ''
    assert.match(row('stall.basic.test'), /not run: unresolved \(timeout\)/)
    assert.match(row('plain-http.basic.test'), /not run: unresolved \(not-tls\)/)
    assert.match(row('hangup.basic.test'), /not run: unresolved \((reset|closed)\)/)
    assert.match(row('rsa2048.basic.test'), /pass \d\/\d/)
    const store = openDb(db)
    const runs = new RunStore(store, db)
    const runId = /run (\S+) complete/.exec(io.out())![1]!
    const stall = runs.attempts(runId).find((a) => a.host === 'stall.basic.test')!
    assert.deepEqual(
      [stall.final, stall.outcome, stall.reason],
      [true, 'not-run', { reason: 'unresolved', detail: 'timeout' }],
    )
    store.close()
  })
})
