import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { webcrypto } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { CertCache, parseCertificate, pemBlocks, TrustStore, type Observation } from '../../src/chain/index.js'
import { x509Lib } from '../../src/core/x509.js'
import { run } from '../../src/cli/run.js'
import { type FirmwareProfile } from '../../src/profile/index.js'
import { loadProfile, planModule } from '../../src/families/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { planDevice, type TargetObservations } from '../../src/plan/index.js'
import { labResolver, labTargets, startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

const ALL = { mode: 'all', includeUntrusted: false } as const
const FIRST = { mode: 'first', includeUntrusted: false } as const

describe('planning', () => {
  let lab: RunningLab
  let obs: Map<string, TargetObservations>
  let spwf04: FirmwareProfile
  let spwf01: FirmwareProfile
  const hosts = ['rsa2048.basic.test', 'extra-cert.basic.test', 'cross.basic.test', 'self-signed.basic.test']
  const targets = () => hosts.map((h) => labTargets(lab).get(h)!)
  before(async () => {
    lab = await startTestLab()
    const resolver = await labResolver(lab)
    obs = new Map()
    for (const t of targets()) {
      const o: Observation = await resolver.resolve(t)
      obs.set(t.id, { device: { obs: o, id: null }, broad: { obs: o, id: null } })
    }
    spwf04 = await loadProfile('spwf04sa-1.1.0')
    spwf01 = await loadProfile('spwf01sa-3.5.3')
  })
  after(async () => lab.close())

  test('each distinct anchor is one group: targets sharing a CA are run while it is loaded', () => {
    const plan = planDevice('d', planModule(spwf04), targets(), obs, ALL)
    const anchors = plan.groups.map((g) => g.anchor.sha256)
    assert.equal(new Set(anchors).size, anchors.length, 'an anchor appears in one group only')
    const rootRsa = plan.groups.find((g) => /Root RSA 2048/.test(g.anchor.subject))!
    // self-signed is expect=fail with no candidate: it is sent with the anchor used most, so its rejection is observed.
    assert.deepEqual(
      rootRsa.items.map((i) => i.host),
      ['rsa2048.basic.test', 'extra-cert.basic.test', 'self-signed.basic.test'],
    )
    assert.deepEqual(plan.skipped, [])
  })

  test('ski-aki modules try intermediates and cross-signs; path modules try the roots of the paths', () => {
    const ski = planDevice('d', planModule(spwf04), targets(), obs, ALL)
      .groups.filter((g) => g.items.some((i) => i.host === 'cross.basic.test'))
      .map((g) => `${g.anchor.kind}:${g.anchor.source}`)
      .sort()
    assert.deepEqual(ski, ['intermediate:served', 'intermediate:served', 'root:store', 'root:store'])
    // A path-building module anchors its path at any CA it holds: the served intermediate and the
    // served cross-sign are candidates too, after the roots.
    const path = planDevice('d', planModule(spwf01), targets(), obs, ALL)
      .groups.filter((g) => g.items.some((i) => i.host === 'cross.basic.test'))
      .map((g) => `${g.anchor.kind}:${g.anchor.source}`)
      .sort()
    assert.deepEqual(path, ['intermediate:served', 'intermediate:served', 'root:store', 'root:store'])
  })

  test('a path-building module is offered the intermediate a server omits (AIA); --anchors first prefers the CA it can reach', async () => {
    const t = labTargets(lab).get('aia.basic.test')!
    const o = await (await labResolver(lab)).resolve(t)
    const only = new Map([[t.id, { device: { obs: o, id: null }, broad: { obs: o, id: null } }]])
    for (const profile of [spwf01, await loadProfile('esp-at-4.1-esp32')]) {
      const all = planDevice('d', planModule(profile), [t], only, ALL)
      assert.deepEqual(
        all.groups.map((g) => [g.anchor.subject, g.anchor.kind, g.anchor.source]),
        [
          // The module can build leaf → intermediate over what the server sends: it comes first.
          ['CN=tlsmatrix Lab Intermediate AIA, O=tlsmatrix lab', 'intermediate', 'aia'],
          // The root is tried too: the report can then say the target passes only with the intermediate.
          ['CN=tlsmatrix Lab Root RSA 2048, O=tlsmatrix lab', 'root', 'store'],
        ],
        profile.id,
      )
      const first = planDevice('d', planModule(profile), [t], only, FIRST)
      assert.deepEqual(
        first.groups.map((g) => g.anchor.subject),
        ['CN=tlsmatrix Lab Intermediate AIA, O=tlsmatrix lab'],
        profile.id,
      )
    }
    // A server that sends its intermediate: the root stays the preferred (first) anchor.
    const rsa = planDevice('d', planModule(spwf01), [labTargets(lab).get('rsa2048.basic.test')!], obs, FIRST)
    assert.deepEqual(
      rsa.groups.map((g) => g.anchor.subject),
      ['CN=tlsmatrix Lab Root RSA 2048, O=tlsmatrix lab'],
    )
  })

  test('--anchors first tries only the preferred root', () => {
    const plan = planDevice('d', planModule(spwf04), targets(), obs, FIRST)
    const cross = plan.groups.filter((g) => g.items.some((i) => i.host === 'cross.basic.test'))
    assert.equal(cross.length, 1)
    assert.equal(cross[0]!.anchor.kind, 'root')
    assert.match(cross[0]!.anchor.subject, /Root G2/, 'the root of the shortest path')
  })

  test('a served root in no trust store is a finding for both kinds of module; with include-untrusted it is tried last and marked', async () => {
    const t = labTargets(lab).get('untrusted-root.basic.test')!
    const o = await (await labResolver(lab)).resolve(t)
    const withIt = new Map([...obs, [t.id, { device: { obs: o, id: null }, broad: { obs: o, id: null } }]])
    const all = [...targets(), t]
    for (const profile of [spwf04, spwf01]) {
      const plan = planDevice('d', planModule(profile), all, withIt, ALL)
      assert.deepEqual(
        plan.skipped.map((i) => [i.host, i.anchor?.subject, i.anchor?.source, i.skip?.reason]),
        [
          [
            'untrusted-root.basic.test',
            'CN=tlsmatrix Lab Untrusted Root, O=tlsmatrix lab',
            'served',
            'untrusted-anchor',
          ],
        ],
        profile.id,
      )
      // Must-reject, no trusted candidate: sent with the anchor the plan uses most.
      assert.ok(
        plan.groups.find((g) => /Root RSA 2048/.test(g.anchor.subject))!.items.some((i) => i.host === t.host),
        profile.id,
      )
      const opted = planDevice('d', planModule(profile), all, withIt, { mode: 'all', includeUntrusted: true })
      assert.deepEqual(opted.skipped, [])
      const own = opted.groups.filter((g) => g.items.some((i) => i.host === t.host))
      assert.deepEqual(
        own.map((g) => [g.anchor.subject, g.anchor.source]),
        [['CN=tlsmatrix Lab Untrusted Root, O=tlsmatrix lab', 'served-untrusted']],
        profile.id,
      )
      // Trusted first: first,include-untrusted keeps each other target on its trusted anchor.
      const first = planDevice('d', planModule(profile), all, withIt, { mode: 'first', includeUntrusted: true })
      for (const g of first.groups)
        if (g.anchor.source.endsWith('-untrusted'))
          assert.deepEqual(
            g.items.map((i) => i.host),
            [t.host],
          )
    }
  })

  test('a must-reject target alone is attempted with a trust-store CA, saying which and why; a look-alike of its issuer first', async () => {
    const t = labTargets(lab).get('untrusted-root.basic.test')!
    const o = await (await labResolver(lab)).resolve(t)
    const alone = new Map([[t.id, { device: { obs: o, id: null }, broad: { obs: o, id: null } }]])
    const cache = new CertCache()
    const labStore = new TrustStore(pemBlocks(readFileSync(lab.trustStoreFile, 'utf8')), cache)
    // Without the store to borrow from (the old behaviour): a finding, nothing sent.
    assert.deepEqual(
      planDevice('d', planModule(spwf04), [t], alone, ALL).skipped.map((i) => i.skip?.reason),
      ['untrusted-anchor', 'no-anchor'],
    )
    // No store CA is related to this chain: the smallest one the module can store is lent.
    for (const profile of [spwf04, spwf01]) {
      const plan = planDevice('d', planModule(profile), [t], alone, ALL, labStore)
      assert.deepEqual(
        plan.skipped.map((i) => i.skip?.reason),
        ['untrusted-anchor'],
        profile.id,
      )
      assert.equal(plan.groups.length, 1, profile.id)
      const g = plan.groups[0]!
      assert.equal(g.anchor.source, 'store')
      assert.deepEqual(
        g.items.map((i) => i.host),
        [t.host],
      )
      const sizes = [...labStore.certificates()]
        .filter((c) => (profile.tls.certificateKeys.ecdsa.length > 0 ? true : c.info.key.type === 'rsa'))
        .map((c) => (profile.dialect === 'spwf01' ? 0 : c.der.length))
      if (profile.dialect !== 'spwf01') assert.equal(g.anchor.uploadBytes, Math.min(...sizes), 'the smallest')
      assert.match(
        g.items[0]!.borrowed!,
        /^no CA of its own, and no trust-store CA is related to its chain: tried with ".*", the smallest trust-store CA the module can store \(\d+ bytes\)/,
      )
    }
    // A store CA with the name the leaf gives as its issuer but another key: the module must check the signature.
    const x509 = x509Lib()
    const alg = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    }
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
    const alike = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '02',
      name: 'CN=tlsmatrix Lab Untrusted Root, O=tlsmatrix lab',
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    })
    const withAlike = new TrustStore(
      [...pemBlocks(readFileSync(lab.trustStoreFile, 'utf8')), Buffer.from(alike.rawData)],
      cache,
    )
    const plan = planDevice('d', planModule(spwf04), [t], alone, ALL, withAlike)
    const g = plan.groups[0]!
    assert.equal(g.anchor.sha256, parseCertificate(Buffer.from(alike.rawData)).info.sha256)
    assert.match(
      g.items[0]!.borrowed!,
      /^no CA of its own: tried with the trust-store CA "CN=tlsmatrix Lab Untrusted Root.*", whose name is the issuer .* but whose key did not sign it, so the module must check the signature/,
    )
    // With another target beside it, the anchor already loaded for it is lent, and said so.
    const both = planDevice('d', planModule(spwf04), [...targets(), t], new Map([...obs, ...alone]), ALL, withAlike)
    const lent = both.groups.flatMap((x) => x.items).find((i) => i.host === t.host)!
    assert.match(lent.borrowed!, /the CA this plan uses for the most other targets \(loaded already\)/)
  })

  test('an anchor larger than the store is a finding, not an upload', () => {
    const small = structuredClone(spwf04)
    small.store.maxCaBytes = 700
    const plan = planDevice('d', planModule(small), targets(), obs, ALL)
    assert.ok(plan.skipped.some((i) => i.skip?.reason === 'ca-too-large'))
    for (const g of plan.groups) assert.ok(g.anchor.uploadBytes <= 700)
    // PEM is what the SPWF01 stores: the same certificate costs more there.
    const der = planDevice('d', planModule(spwf04), targets(), obs, ALL).groups[0]!.anchor.uploadBytes
    const pem = planDevice('d', planModule(spwf01), targets(), obs, ALL).groups[0]!.anchor.uploadBytes
    assert.ok(pem > der * 1.3)
  })

  test('a must-pass target that fails, or a must-reject target that passes, makes the run exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-expect-'))
    const file = join(dir, 'hosts.txt')
    const port = (h: string) => lab.hosts.find((x) => x.name === h)!.port
    writeFileSync(
      file,
      `ecdhe-only.basic.test:${port('ecdhe-only.basic.test')} expect=pass\nrsa2048.basic.test:${port('rsa2048.basic.test')} expect=pass\n`,
    )
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        file,
        '--device',
        'emu:spwf04sa-1.0.0?no-dns',
        '--db',
        join(dir, 'e.db'),
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    assert.equal(code, 1, io.err())
    assert.match(
      io.out(),
      /1 expect= mismatch\(es\): ecdhe-only\.basic\.test:\d+ on spwf04sa-1\.0\.0 expected pass, got fail/,
    )
    assert.match(io.out(), /ecdhe-only\.basic\.test:\d+ expect=pass +FAIL handshake x2 \(!\)/)
  })
})
