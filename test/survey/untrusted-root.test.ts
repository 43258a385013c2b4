import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCertificate, type ParsedCert } from '../../src/chain/index.js'
import { run } from '../../src/cli/run.js'
import { startLab, validateLabSpec, type RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { labResolver, labTargets, startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

interface RunJson {
  runId: string
  devices: Array<{ label: string; uploads: number }>
  attempts: Array<{
    host: string
    device: string
    anchor: { sha256: string; subject: string; source: string }
    final: boolean
    outcome: string
    class: string | null
    reason: { reason: string; detail: string } | null
    upload: { command: string; ski: string | null } | null
  }>
  mismatches: Array<{ target: string; device: string; expect: string; verdict: string }>
}

// badssl's untrusted-root: the server sends a root no store holds, its leaf under it, and must be rejected.
describe('a served root in no trust store is a finding, not a candidate (SPWF04SA ski-aki and SPWF01SA path modules)', () => {
  let lab: RunningLab
  let dir: string
  let hosts: string
  const cert = (name: string): ParsedCert => parseCertificate(lab.pki.certs.get(name)!.der)
  const DEVICES = ['--device', 's04=emu:spwf04sa-1.1.0?no-dns', '--device', 's01=emu:spwf01sa-3.5.3?no-dns']
  const survey = async (db: string, extra: string[]) => {
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        ...DEVICES,
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--db',
        join(dir, db),
        ...extra,
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    return { code, io }
  }
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-untrusted-'))
    hosts = join(dir, 'hosts.txt')
    // rsa2048 gives the plan a trusted anchor to send the must-reject target with.
    const pick = ['untrusted-root.basic.test', 'rsa2048.basic.test']
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => pick.includes(h.name))
        .map((h) => `${h.name}:${h.port}${h.expect ? ` expect=${h.expect}` : ''}`)
        .join('\n'),
    )
  })
  after(async () => lab.close())

  test('by default the untrusted root is never uploaded, the must-reject target is rejected, and the finding is in the matrix output and the database', async () => {
    const { code, io } = await survey('default.db', [])
    assert.equal(code, 0, `no expect= mismatch: ${io.out()}\n${io.err()}`)
    const runId = /run (\S+) complete/.exec(io.out())![1]!
    const db = openDb(join(dir, 'default.db'))
    const attempts = new RunStore(db, 'x')
      .attempts(runId)
      .filter((a) => a.final && a.host === 'untrusted-root.basic.test')
    db.close()
    const untrustedRoot = cert('root-untrusted')
    for (const device of ['s04', 's01']) {
      const mine = attempts.filter((a) => a.device === device)
      const sent = mine.filter((a) => a.outcome !== 'not-run')
      assert.deepEqual(
        sent.map((a) => [a.outcome, a.class, a.anchorSubject, a.anchorSource]),
        [['fail', 'untrusted', cert('root-rsa').info.subject, 'store']],
        device,
      )
      const finding = mine.filter((a) => a.outcome === 'not-run')
      assert.deepEqual(
        finding.map((a) => [a.anchor, a.anchorSource, a.reason?.reason]),
        [[untrustedRoot.info.sha256, 'served', 'untrusted-anchor']],
        device,
      )
      assert.match(finding[0]!.reason!.detail, /^served root not in any trust store/)
    }
    // The SPWF04SA answers the key id of what it was given: only the trusted root was ever loaded.
    const s04 = attempts.find((a) => a.device === 's04' && a.outcome === 'fail')!
    assert.equal(s04.upload?.ski, cert('root-rsa').info.ski)
    assert.match(io.out(), /untrusted-root\.basic\.test:\d+ expect=fail +FAIL untrusted +FAIL untrusted/)
    const why = io.out().split('\nwhy:\n')[1] ?? ''
    assert.match(
      why,
      /s04 +untrusted-root\.basic\.test:\d+ +CN=tlsmatrix Lab Untrusted Root.*\(served\): not uploaded: served root not in any trust store/,
    )
    assert.match(
      why,
      /s01 +untrusted-root\.basic\.test:\d+ +CN=tlsmatrix Lab Untrusted Root.*\(served\): not uploaded: served root not in any trust store/,
    )
  })

  test('--anchors all,include-untrusted uploads it, and the evidence says it was untrusted', async () => {
    const { code, io } = await survey('opt-in.db', ['--anchors', 'all,include-untrusted', '--json'])
    const j = JSON.parse(io.out()) as RunJson
    const untrustedRoot = cert('root-untrusted')
    for (const device of ['s04', 's01']) {
      const mine = j.attempts.filter((a) => a.final && a.device === device && a.host === 'untrusted-root.basic.test')
      assert.deepEqual(
        mine.map((a) => [a.anchor.sha256, a.anchor.source, a.outcome]),
        [[untrustedRoot.info.sha256, 'served-untrusted', 'pass']],
        device,
      )
      const tried = new Set(
        j.attempts.filter((a) => a.device === device && a.outcome !== 'not-run').map((a) => a.anchor.sha256),
      )
      assert.ok(tried.has(untrustedRoot.info.sha256))
      assert.equal(
        j.devices.find((d) => d.label === device)?.uploads,
        tried.size,
        'each anchor tried, the untrusted root included, uploaded once',
      )
    }
    assert.equal(
      j.attempts.find((a) => a.device === 's04' && a.anchor.source === 'served-untrusted')?.upload?.ski,
      untrustedRoot.info.ski,
    )
    // The user's opt-in makes the module accept a must-reject host: reported, never hidden.
    assert.deepEqual(j.mismatches.map((m) => [m.device, m.verdict]).sort(), [
      ['s01', 'pass'],
      ['s04', 'pass'],
    ])
    assert.equal(code, 1)
  })

  test('--anchors first,include-untrusted still prefers a trusted anchor, and a bad --anchors is a usage error', async () => {
    const { io } = await survey('first.db', ['--anchors', 'first,include-untrusted', '--json'])
    const j = JSON.parse(io.out()) as RunJson
    const rsa = j.attempts.filter((a) => a.final && a.host === 'rsa2048.basic.test')
    assert.deepEqual(
      rsa.map((a) => a.anchor.source),
      ['store', 'store'],
    )
    const bad = testIo({ inProcess: true })
    assert.equal(await run(['run', '--hosts', hosts, ...DEVICES, '--anchors', 'all,first'], bad), 2)
    assert.match(bad.err(), /all and first exclude each other/)
    const typo = testIo({ inProcess: true })
    assert.equal(await run(['run', '--hosts', hosts, ...DEVICES, '--anchors', 'include-untrustd'], typo), 2)
    assert.match(typo.err(), /expected all, first or include-untrusted/)
  })
})

describe('candidates are the CAs a trust store vouches for', () => {
  let lab: RunningLab
  before(async () => {
    const spec = validateLabSpec(
      {
        name: 'trust',
        certificates: {
          'root-t': { subject: 'CN=Trusted Root', key: 'rsa-2048', issuer: 'self', ca: true, trust: true },
          'int-t': { subject: 'CN=Trusted Intermediate', key: 'rsa-2048', issuer: 'root-t', ca: true },
          'leaf-t': { subject: 'CN=t.trust.test', key: 'rsa-2048', issuer: 'int-t', sans: ['t.trust.test'] },
          'root-u': { subject: 'CN=Private Root', key: 'rsa-2048', issuer: 'self', ca: true },
          'int-u': { subject: 'CN=Private Intermediate', key: 'rsa-2048', issuer: 'root-u', ca: true },
          'leaf-u': { subject: 'CN=u.trust.test', key: 'rsa-2048', issuer: 'int-u', sans: ['u.trust.test'] },
        },
        hosts: {
          't.trust.test': { certificate: 'leaf-t', send: ['leaf-t', 'int-t'] },
          'u.trust.test': { certificate: 'leaf-u', send: ['leaf-u', 'int-u', 'root-u'] },
        },
      },
      'test',
    )
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-trust-'))
    lab = await startLab(spec, { cacheDir: join(dir, 'cache'), now: new Date(), ephemeralPorts: true })
  })
  after(async () => lab.close())
  const fp = (name: string) => parseCertificate(lab.pki.certs.get(name)!.der).info.sha256

  test('a served intermediate on a verified path to a store root is a candidate; one chaining only to a served root in no store is not, nor is that root', async () => {
    const resolver = await labResolver(lab)
    const t = await resolver.resolve(labTargets(lab).get('t.trust.test')!)
    assert.deepEqual(
      t.anchors.map((a) => [a.cert.info.sha256, a.source, a.match.join('+')]).sort(),
      [
        [fp('int-t'), 'served', 'ski-aki'],
        [fp('root-t'), 'store', 'path+ski-aki'],
      ].sort(),
    )
    assert.deepEqual(t.untrustedAnchors, [])
    const u = await resolver.resolve(labTargets(lab).get('u.trust.test')!)
    assert.deepEqual(u.anchors, [])
    assert.deepEqual(
      u.untrustedAnchors.map((a) => [a.cert.info.sha256, a.kind, a.match.join('+')]).sort(),
      [
        [fp('int-u'), 'intermediate', 'ski-aki'],
        [fp('root-u'), 'root', 'path+ski-aki'],
      ].sort(),
    )
  })

  test('resolve --json lists them apart, in untrustedAnchors', async () => {
    const io = testIo({ inProcess: true })
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-trust-json-'))
    const code = await run(
      [
        'resolve',
        '--hosts',
        lab.hostsFile,
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--db',
        join(dir, 'r.db'),
        '--json',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const rows = JSON.parse(io.out()) as Array<{
      host: string
      anchors: Array<{ sha256: string }>
      untrustedAnchors: Array<{ sha256: string; source: string; kind: string }>
    }>
    const u = rows.find((r) => r.host === 'u.trust.test')!
    assert.deepEqual(u.anchors, [])
    assert.deepEqual(
      u.untrustedAnchors.map((a) => [a.sha256, a.source, a.kind]).sort(),
      [
        [fp('int-u'), 'served', 'intermediate'],
        [fp('root-u'), 'served', 'root'],
      ].sort(),
    )
    assert.deepEqual(rows.find((r) => r.host === 't.trust.test')!.untrustedAnchors, [])
  })
})
