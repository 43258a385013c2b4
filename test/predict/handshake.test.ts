import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_HELLO,
  parseCertificate,
  type CaptureErrorCode,
  type Observation,
  type Resolver,
} from '../../src/chain/index.js'
import { helloOf } from '../../src/profile/profile.js'
import type { RunningLab } from '../../src/lab/index.js'
import {
  connectFailureClass,
  handshakeFact,
  predict,
  type HandshakeFact,
  type PredictInput,
} from '../../src/predict/index.js'
import { closedPort, fakeTarget, labResolver, labTargets, startTestLab } from '../helpers/lab.js'
import { labCerts, type LabCerts } from './lab-certs.js'

const ok = (protocol: string, cipher: string): HandshakeFact => ({
  ok: true,
  protocol,
  cipher,
  errorCode: null,
  errorMessage: null,
})
// Issued once for the file: both groups judge the same certificates.
let shared: Promise<LabCerts> | undefined
const labCertsOnce = () => (shared ??= labCerts())
const failed = (errorCode: CaptureErrorCode, errorMessage = 'x'): HandshakeFact => ({
  ok: false,
  protocol: null,
  cipher: null,
  errorCode,
  errorMessage,
})

describe('handshake reasons from real resolutions of the lab', () => {
  let lab: RunningLab
  let broad: Resolver
  let certs: LabCerts
  const resolveWith = async (r: Resolver, host: string): Promise<Observation> => r.resolve(labTargets(lab).get(host)!)

  before(async () => {
    lab = await startTestLab()
    broad = await labResolver(lab, { hello: DEFAULT_HELLO })
    certs = await labCertsOnce()
  })
  after(async () => lab.close())

  const predictFor = async (profileId: keyof LabCerts['profiles'], host: string) => {
    const profile = certs.profiles[profileId]
    const own = await resolveWith(await labResolver(lab, { hello: helloOf(profile) }), host)
    const wide = await resolveWith(broad, host)
    const input: PredictInput = {
      profile,
      served: own.served.length ? own.served : wide.served,
      ca: parseCertificate(lab.pki.certs.get('root-rsa')!.der),
      host,
      now: new Date(),
      server: { own: handshakeFact(own), broad: handshakeFact(wide) },
    }
    return { prediction: predict(input), own, wide }
  }

  test('an ECDHE-only server and the RSA-key-exchange-only 1.0.0: handshake, no common suite, with the broad choice', async () => {
    const { prediction, own, wide } = await predictFor('spwf04sa-1.0.0', 'ecdhe-only.basic.test')
    assert.notEqual(own.error, null, "the module's own hello is refused")
    assert.match(wide.cipher ?? '', /^TLS_ECDHE_RSA_/)
    assert.deepEqual(prediction, {
      verdict: 'fail',
      class: 'handshake',
      reasons: [
        {
          code: 'no-common-suite',
          text: `the server accepts none of the module's cipher suites: SPWF04SA 1.0.0 offers RSA key exchange only (it chose ${wide.cipher} for a broad client)`,
          cert: null,
        },
      ],
    })
    // 1.1.0 offers ECDHE-RSA: the same server passes.
    assert.equal((await predictFor('spwf04sa-1.1.0', 'ecdhe-only.basic.test')).prediction.verdict, 'pass')
  })

  test('a TLS 1.3-only server: handshake, naming the versions on both sides', async () => {
    const { prediction, wide } = await predictFor('spwf04sa-1.0.0', 'tls13-only.basic.test')
    assert.equal(wide.protocol, 'TLSv1.3')
    assert.deepEqual(prediction, {
      verdict: 'fail',
      class: 'handshake',
      reasons: [
        {
          code: 'no-common-version',
          text: 'the server speaks TLSv1.3 only; SPWF04SA 1.0.0 offers TLSv1–TLSv1.2',
          cert: null,
        },
      ],
    })
  })

  test('an ordinary server passes with its own-hello chain', async () => {
    const { prediction } = await predictFor('spwf04sa-1.0.0', 'rsa2048.basic.test')
    assert.deepEqual(prediction, { verdict: 'pass', class: null, reasons: [] })
  })

  test('a closed port is connect, an unknown name dns, plain HTTP on the port a handshake failure', async () => {
    const profile = certs.profiles['spwf04sa-1.0.0']
    const base = { profile, served: [], ca: null, now: new Date() }
    const port = await closedPort()
    const refused = handshakeFact(await broad.resolve(fakeTarget('127.0.0.1', port, null)))
    const p = predict({ ...base, host: '127.0.0.1', server: { own: refused, broad: null } })
    assert.deepEqual([p.verdict, p.class, p.reasons.map((r) => r.code)], ['fail', 'connect', ['connect-refused']])
    assert.match(p.reasons[0]!.text, /^the server refused the TCP connection \(refused: /)
    const dns = handshakeFact(await broad.resolve(fakeTarget('nowhere.basic.test', 443)))
    const d = predict({ ...base, host: 'nowhere.basic.test', server: { own: dns, broad: null } })
    assert.deepEqual([d.verdict, d.class, d.reasons.map((r) => r.code)], ['fail', 'dns', ['dns']])
    assert.match(d.reasons[0]!.text, /^nowhere\.basic\.test does not resolve \(dns: /)
    const plain = handshakeFact(await resolveWith(broad, 'plain-http.basic.test'))
    const h = predict({ ...base, host: 'plain-http.basic.test', server: { own: plain, broad: plain } })
    assert.deepEqual([h.verdict, h.class, h.reasons.map((r) => r.code)], ['fail', 'handshake', ['not-tls']])
  })
})

describe('handshake judgement from given facts', () => {
  let certs: LabCerts
  before(async () => {
    certs = await labCertsOnce()
  })
  const input = (
    own: HandshakeFact | null,
    broad: HandshakeFact | null,
    served = ['leaf-rsa2048', 'int-rsa'],
  ): PredictInput => ({
    profile: certs.profiles['spwf04sa-1.0.0'],
    served: served.map((n) => certs.cert(n)),
    ca: certs.cert('root-rsa'),
    host: 'rsa2048.basic.test',
    now: certs.now,
    server: { own, broad },
  })

  test('the one mapping from resolver codes to classes', () => {
    const cases: Array<[CaptureErrorCode, string | null]> = [
      ['dns', 'dns'],
      ['refused', 'connect'],
      ['unreachable', 'connect'],
      ['timeout', 'timeout'],
      ['chain-too-large', 'too-large'],
      ['chain-over-node-limit', 'too-large'],
      ['tls-alert:handshake-failure', 'handshake'],
      ['tls-alert:protocol-version', 'handshake'],
      ['reset', 'handshake'],
      ['closed', 'handshake'],
      ['not-tls', 'handshake'],
      ['malformed-certificate', 'handshake'],
      ['tls-error', 'handshake'],
      ['aborted', null],
      ['internal', null],
    ]
    for (const [code, cls] of cases) assert.equal(connectFailureClass(code), cls, code)
  })

  test('own timeout: timeout; own refused with a broad suite the module offers too: handshake, saying the groups may differ', () => {
    const t = predict(input(failed('timeout', 'no answer after 10000 ms during the handshake'), null))
    assert.deepEqual(
      [t.verdict, t.class, t.reasons[0]!.text],
      ['fail', 'timeout', 'the server did not answer in time (timeout: no answer after 10000 ms during the handshake)'],
    )
    const g = predict(
      input(
        failed('tls-alert:handshake-failure', 'server sent alert 40 (handshake-failure)'),
        ok('TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA256'),
      ),
    )
    assert.equal(g.class, 'handshake')
    assert.equal(g.reasons[0]!.code, 'handshake-refused')
    assert.match(
      g.reasons[0]!.text,
      /^the server refused SPWF04SA 1\.0\.0's ClientHello \(tls-alert:handshake-failure: server sent alert 40 \(handshake-failure\)\), though it chose TLS_RSA_WITH_AES_128_CBC_SHA256 over TLSv1\.2 for a broad client/,
    )
  })

  test("a suite that shares the module's key exchange names the bulk ciphers it offers", () => {
    const p = predict(input(failed('tls-alert:handshake-failure'), ok('TLSv1.2', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA')))
    assert.equal(
      p.reasons[0]!.text,
      "the server accepts none of the module's cipher suites: SPWF04SA 1.0.0 offers RSA key exchange only with AES-128-CBC, AES-256-CBC, AES-128-GCM and AES-256-GCM (it chose TLS_RSA_WITH_3DES_EDE_CBC_SHA for a broad client)",
    )
    const p11 = predict({
      ...input(failed('tls-alert:handshake-failure'), ok('TLSv1.2', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256')),
      profile: certs.profiles['spwf04sa-1.1.0'],
    })
    assert.match(
      p11.reasons[0]!.text,
      /SPWF04SA 1\.1\.0 offers ECDHE-ECDSA, ECDHE-RSA and RSA key exchange with AES-128-GCM, /,
    )
  })

  test("own not observed: dns and connect from the broad hello, the rest unknown unless the broad choice is the module's too", () => {
    const d = predict(input(null, failed('dns', 'getaddrinfo ENOTFOUND')))
    assert.deepEqual(
      [d.verdict, d.class, d.reasons[0]!.text],
      [
        'fail',
        'dns',
        'rsa2048.basic.test does not resolve (dns: getaddrinfo ENOTFOUND) (seen with a broad ClientHello)',
      ],
    )
    assert.equal(predict(input(null, failed('refused'))).class, 'connect')
    const t = predict(input(null, failed('timeout')))
    assert.deepEqual([t.verdict, t.class], ['unknown', null])
    const v = predict(input(null, ok('TLSv1.3', 'TLS_AES_128_GCM_SHA256')))
    assert.deepEqual([v.verdict, v.reasons.map((r) => r.code)], ['unknown', ['version-unverified']])
    assert.equal(
      v.reasons[0]!.text,
      'the server chose TLSv1.3 for a broad client; whether it speaks TLSv1–TLSv1.2, which SPWF04SA 1.0.0 offers, was not observed',
    )
    const s = predict(input(null, ok('TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256')))
    assert.deepEqual([s.verdict, s.reasons.map((r) => r.code)], ['unknown', ['suite-unverified']])
    assert.equal(
      s.reasons[0]!.text,
      "the server chose TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 for a broad client; whether it accepts any of SPWF04SA 1.0.0's suites (RSA key exchange only) was not observed",
    )
    // The broad client got a version and a suite the module offers: the chain decides.
    assert.equal(predict(input(null, ok('TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA256'))).verdict, 'pass')
    const k = predict(
      input(null, ok('TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA256'), ['leaf-rsa4096-int', 'int-rsa4096']),
    )
    assert.deepEqual([k.verdict, k.class], ['fail', 'key-unsupported'])
  })

  test('unknown when facts are missing; a chain problem is still told', () => {
    const none = predict(input(null, null))
    assert.deepEqual([none.verdict, none.class, none.reasons.map((r) => r.code)], ['unknown', null, ['no-handshake']])
    const noChain = predict(input(ok('TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA256'), null, []))
    assert.deepEqual([noChain.verdict, noChain.reasons.map((r) => r.code)], ['unknown', ['no-chain']])
    const told = predict(input(null, ok('TLSv1.3', 'TLS_AES_128_GCM_SHA256'), ['leaf-rsa4096-int', 'int-rsa4096']))
    assert.deepEqual(
      [told.verdict, told.class, told.reasons.map((r) => r.code)],
      ['unknown', null, ['version-unverified', 'key-too-large']],
    )
    const stopped = predict(input(failed('aborted', 'stopped by the user'), null))
    assert.deepEqual([stopped.verdict, stopped.reasons.map((r) => r.code)], ['unknown', ['not-observed']])
  })
})
