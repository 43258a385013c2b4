import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Observation, Resolver } from '../../src/chain/index.js'
import { parseCertificate } from '../../src/chain/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { closedPort, fakeTarget, labResolver, labTargets, startTestLab } from '../helpers/lab.js'

describe('resolve against the basic lab', () => {
  let lab: RunningLab
  let resolver: Resolver
  const fp = (name: string) => parseCertificate(lab.pki.certs.get(name)!.der).info.sha256
  const resolveHost = async (host: string, r: Resolver = resolver): Promise<Observation> =>
    r.resolve(labTargets(lab).get(host)!)

  before(async () => {
    lab = await startTestLab()
    resolver = await labResolver(lab)
  })
  after(async () => lab.close())

  test('captures an out-of-order chain in the order sent', async () => {
    const o = await resolveHost('out-of-order.basic.test')
    assert.equal(o.error, null)
    assert.equal(o.capture, 'wire')
    assert.deepEqual(
      o.served.map((c) => c.info.sha256),
      [fp('leaf-out-of-order'), fp('root-rsa'), fp('int-rsa')],
    )
    const root = o.anchors.find((a) => a.cert.info.sha256 === fp('root-rsa'))!
    assert.equal(root.source, 'served', 'the root was sent by the server')
    assert.deepEqual(root.paths, [[fp('leaf-out-of-order'), fp('int-rsa'), fp('root-rsa')]])
  })

  test('keeps an unrelated extra certificate where the server put it', async () => {
    const o = await resolveHost('extra-cert.basic.test')
    assert.deepEqual(
      o.served.map((c) => c.info.sha256),
      [fp('leaf-extra-cert'), fp('int-rsa'), fp('unrelated-ca')],
    )
    assert.ok(!o.anchors.some((a) => a.cert.info.sha256 === fp('unrelated-ca')), 'the unrelated CA is not a candidate')
  })

  test('a cross-signed root gives both roots as anchors, each with its own path', async () => {
    const o = await resolveHost('cross.basic.test')
    const leaf = fp('leaf-cross')
    const int = fp('int-g2')
    const g1 = o.anchors.find((a) => a.cert.info.sha256 === fp('root-g1'))
    const g2 = o.anchors.find((a) => a.cert.info.sha256 === fp('root-g2'))
    assert.ok(g1 && g2, `anchors: ${o.anchors.map((a) => a.cert.info.subject).join('; ')}`)
    assert.equal(g1.kind, 'root')
    assert.equal(g2.kind, 'root')
    assert.deepEqual(g2.paths, [[leaf, int, fp('root-g2')]])
    assert.deepEqual(g1.paths, [[leaf, int, fp('root-g2-by-g1'), fp('root-g1')]])
    // The SPWF04SA matches by SKI/AKI: the G2 key (self-signed or cross-signed) and the intermediate are candidates too.
    const cross = o.anchors.find((a) => a.cert.info.sha256 === fp('root-g2-by-g1'))!
    assert.equal(cross.source, 'served')
    assert.equal(cross.kind, 'intermediate')
    assert.ok(cross.match.includes('ski-aki'))
  })

  test('fetches a missing intermediate through AIA and builds the path with it', async () => {
    const o = await resolveHost('aia.basic.test')
    assert.equal(o.served.length, 1, 'the server sends the leaf only')
    assert.deepEqual(
      o.aia.fetched.map((c) => c.info.sha256),
      [fp('int-aia')],
    )
    const root = o.anchors.find((a) => a.cert.info.sha256 === fp('root-rsa'))!
    assert.deepEqual(root.paths, [[fp('leaf-aia'), fp('int-aia'), fp('root-rsa')]])
    const int = o.anchors.find((a) => a.cert.info.sha256 === fp('int-aia'))!
    assert.equal(int.source, 'aia')
  })

  test('refuses an AIA URL on loopback unless allowed', async () => {
    const strict = await labResolver(lab, { allowPrivate: false })
    const o = await resolveHost('aia.basic.test', strict)
    assert.equal(o.aia.fetched.length, 0)
    assert.equal(o.aia.errors[0]?.code, 'aia-refused')
    assert.match(o.aia.errors[0].message, /loopback or private/)
    assert.ok(!o.anchors.some((a) => a.match.includes('path')), 'no path without the intermediate')
  })

  test('describes each certificate: keys, curves, signature, SANs', async () => {
    const e = await resolveHost('ecdsa.basic.test')
    assert.deepEqual(e.served[0]!.info.key, { type: 'ec', bits: 256, curve: 'P-256' })
    assert.equal(e.served[0]!.info.signature, 'ecdsa-sha384')
    assert.deepEqual(e.served[1]!.info.key, { type: 'ec', bits: 384, curve: 'P-384' })
    const big = await resolveHost('rsa4096-int.basic.test')
    assert.deepEqual(big.served[1]!.info.key, { type: 'rsa', bits: 4096, curve: null })
    const sans = await resolveHost('many-sans.basic.test')
    assert.equal(sans.served[0]!.info.sans.length, 601)
    assert.ok(sans.served[0]!.info.derBytes > 10_000)
    const self = await resolveHost('self-signed.basic.test')
    assert.equal(self.served[0]!.info.selfSigned, true)
    assert.deepEqual(self.anchors, [])
    const expired = await resolveHost('expired.basic.test')
    assert.ok(Date.parse(expired.served[0]!.info.notAfter) < Date.now())
  })

  test('falls back to a reconstructed chain for a TLS 1.3-only server', async () => {
    const o = await resolveHost('tls13-only.basic.test')
    assert.equal(o.error, null)
    assert.equal(o.protocol, 'TLSv1.3')
    assert.equal(o.capture, 'reconstructed')
    assert.equal(o.served[0]!.info.sha256, fp('leaf-tls13-only'))
  })

  test('the hello decides: an RSA-key-exchange-only client is refused by the ECDHE-only server', async () => {
    const rsaOnly = await labResolver(lab, {
      hello: {
        versions: ['TLSv1.2'],
        cipherSuites: ['TLS_RSA_WITH_AES_128_CBC_SHA'],
        groups: [],
        signatureAlgorithms: [],
        sni: true,
      },
    })
    const refused = await resolveHost('ecdhe-only.basic.test', rsaOnly)
    assert.equal(refused.error?.code, 'tls-alert:handshake-failure')
    const ok = await resolveHost('rsa-kx.basic.test', rsaOnly)
    assert.equal(ok.error, null)
    assert.equal(ok.cipher, 'TLS_RSA_WITH_AES_128_CBC_SHA')
  })

  test('sends SNI only when the hello says so', async () => {
    const noSni = await labResolver(lab, {
      hello: { versions: ['TLSv1.2'], cipherSuites: [], groups: [], signatureAlgorithms: [], sni: false },
    })
    const o = await resolveHost('cross.basic.test', noSni)
    assert.equal(o.sni, null)
    // Without SNI the shared listener answers with its default host, not cross.basic.test.
    assert.notEqual(o.served[0]!.info.sha256, fp('leaf-cross'))
    assert.equal((await resolveHost('cross.basic.test')).served[0]!.info.sha256, fp('leaf-cross'))
  })

  test('stable error codes: refused, not-tls, timeout, reset, dns', async () => {
    const port = await closedPort()
    const refused = await resolver.resolve(fakeTarget('127.0.0.1', port, null))
    assert.equal(refused.error?.code, 'refused')
    assert.equal((await resolveHost('plain-http.basic.test')).error?.code, 'not-tls')
    assert.equal((await resolveHost('garbage.basic.test')).error?.code, 'not-tls')
    const quick = await labResolver(lab, { timeoutMs: 400 })
    const stalled = await resolveHost('stall.basic.test', quick)
    assert.equal(stalled.error?.code, 'timeout')
    assert.match(stalled.error?.message ?? '', /no answer after 400 ms/, 'the bound given is the one that stopped it')
    assert.equal((await resolveHost('hangup.basic.test')).error?.code, 'reset')
    const dns = await resolver.resolve(fakeTarget('does-not-exist.invalid', 443))
    assert.equal(dns.error?.code, 'dns')
  })
})
