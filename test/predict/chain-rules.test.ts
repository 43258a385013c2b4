import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { issuedBy, type ParsedCert } from '../../src/chain/index.js'
import { judgeChain, predict, type PredictInput } from '../../src/predict/index.js'
import { labCerts, type LabCerts } from './lab-certs.js'

const ok = {
  ok: true,
  protocol: 'TLSv1.2',
  cipher: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  errorCode: null,
  errorMessage: null,
}

describe('chain rules with lab certificates and the shipped profiles', () => {
  let lab: LabCerts
  const c = (name: string) => lab.cert(name)
  const input = (
    profile: keyof LabCerts['profiles'],
    served: string[],
    ca: string | null,
    host: string,
    extra: Partial<PredictInput> = {},
  ): PredictInput => ({
    profile: lab.profiles[profile],
    served: served.map(c),
    ca: ca ? c(ca) : null,
    host,
    now: lab.now,
    server: { own: ok, broad: ok },
    ...extra,
  })

  before(async () => {
    lab = await labCerts()
  })

  test('a good chain with its root uploaded passes, with the SPWF04SA look-up lines', () => {
    const p = predict(input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], 'root-rsa', 'rsa2048.basic.test'))
    assert.deepEqual(p, { verdict: 'pass', class: null, reasons: [] })
    const j = judgeChain([c('leaf-rsa2048'), c('int-rsa')], c('root-rsa'), lab.profiles['spwf04sa-1.0.0'], {
      host: 'rsa2048.basic.test',
      now: lab.now,
    })
    assert.deepEqual(j.lines, ['AT-S.Skip CA', 'AT-S.Loading:1:2'])
  })

  test('an RSA-4096 intermediate: key-unsupported on the SPWF04SA, naming the intermediate and the limit', () => {
    const p = predict(
      input('spwf04sa-1.0.0', ['leaf-rsa4096-int', 'int-rsa4096'], 'root-rsa', 'rsa4096-int.basic.test'),
    )
    assert.equal(p.verdict, 'fail')
    assert.equal(p.class, 'key-unsupported')
    assert.deepEqual(p.reasons, [
      {
        code: 'key-too-large',
        text: 'intermediate “CN=tlsmatrix Lab Intermediate RSA 4096, O=tlsmatrix lab” has an RSA-4096 key; SPWF04SA 1.0.0 accepts RSA keys of 1024–2048 bits',
        cert: c('int-rsa4096').info.sha256,
      },
    ])
    // The SPWF01SA profile takes RSA keys up to 4096 bits and builds the path by signature.
    assert.equal(
      predict(input('spwf01sa-3.5.3', ['leaf-rsa4096-int', 'int-rsa4096'], 'root-rsa', 'rsa4096-int.basic.test'))
        .verdict,
      'pass',
    )
  })

  test('an ECDSA leaf: refused before 1.1.0, accepted by 1.1.0', () => {
    const served = ['leaf-ecdsa', 'int-ec384']
    const p = predict(input('spwf04sa-1.0.0', served, 'root-ec384', 'ecdsa.basic.test'))
    assert.equal(p.class, 'key-unsupported')
    assert.deepEqual(
      p.reasons.map((r) => [r.code, r.text, r.cert]),
      [
        [
          'ecdsa-unsupported',
          'leaf “CN=ecdsa.basic.test” has an ECDSA P-256 key; SPWF04SA 1.0.0 accepts no ECDSA keys (RSA only)',
          c('leaf-ecdsa').info.sha256,
        ],
        [
          'ecdsa-unsupported',
          'intermediate “CN=tlsmatrix Lab Intermediate ECC P-384, O=tlsmatrix lab” has an ECDSA P-384 key; SPWF04SA 1.0.0 accepts no ECDSA keys (RSA only)',
          c('int-ec384').info.sha256,
        ],
        [
          'ecdsa-unsupported',
          'uploaded CA “CN=tlsmatrix Lab Root ECC P-384, O=tlsmatrix lab” has an ECDSA P-384 key; SPWF04SA 1.0.0 accepts no ECDSA keys (RSA only)',
          c('root-ec384').info.sha256,
        ],
      ],
    )
    assert.equal(
      predict(
        input('spwf04sa-1.1.0', served, 'root-ec384', 'ecdsa.basic.test', {
          server: { own: { ...ok, cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256' }, broad: null },
        }),
      ).verdict,
      'pass',
    )
  })

  test("a certificate over the module's size limit: too-large, with its bytes and the limit", () => {
    const big = c('leaf-big')
    assert.ok(big.info.derBytes > 2560, `the big leaf is ${big.info.derBytes} bytes`)
    const p = predict(input('spwf04sa-1.0.0', ['leaf-big', 'int-rsa'], 'root-rsa', 'big.basic.test'))
    assert.equal(p.class, 'too-large')
    assert.deepEqual(p.reasons, [
      {
        code: 'cert-too-large',
        text: `leaf “CN=big.basic.test” is ${big.info.derBytes} bytes; SPWF04SA 1.0.0 accepts certificates up to 2560 bytes`,
        cert: big.info.sha256,
      },
    ])
    // No size limit is known for the SPWF01SA.
    assert.equal(
      predict(input('spwf01sa-3.5.3', ['leaf-big', 'int-rsa'], 'root-rsa', 'big.basic.test')).verdict,
      'pass',
    )
  })

  test('a chain over maxChainBytes names the total and the limit', () => {
    const profile = {
      ...lab.profiles['spwf01sa-3.5.3'],
      tls: { ...lab.profiles['spwf01sa-3.5.3'].tls, maxChainBytes: 1000 },
    }
    const total = c('leaf-rsa2048').info.derBytes + c('int-rsa').info.derBytes
    const j = judgeChain([c('leaf-rsa2048'), c('int-rsa')], c('root-rsa'), profile, {
      host: 'rsa2048.basic.test',
      now: lab.now,
    })
    assert.equal(j.class, 'too-large')
    assert.deepEqual(j.reasons, [
      {
        code: 'chain-too-large',
        text: `the chain the server sends is ${total} bytes in 2 certificate(s); SPWF01SA 3.5.3 accepts chains up to 1000 bytes`,
        cert: null,
      },
    ])
  })

  test('an expired leaf: expired, with its dates and the module clock', () => {
    const leaf = c('leaf-expired')
    const p = predict(input('spwf04sa-1.0.0', ['leaf-expired', 'int-rsa'], 'root-rsa', 'expired.basic.test'))
    assert.equal(p.class, 'expired')
    assert.equal(p.reasons.length, 1)
    assert.equal(p.reasons[0]!.code, 'expired')
    assert.equal(p.reasons[0]!.cert, leaf.info.sha256)
    const iso = (s: string) => new Date(s).toISOString().replace(/\.\d{3}Z$/, 'Z')
    assert.equal(
      p.reasons[0]!.text,
      `leaf “CN=expired.basic.test” expired on ${iso(leaf.info.notAfter)} (valid ${iso(leaf.info.notBefore)} to ${iso(leaf.info.notAfter)}); SPWF04SA 1.0.0's clock reads ${iso(lab.now.toISOString())}`,
    )
  })

  test('a module clock at power-on (2000-01-01), before every certificate on the path: the clock class, not expired', () => {
    const p = predict(
      input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], 'root-rsa', 'rsa2048.basic.test', {
        now: new Date('2000-01-01T00:00:00Z'),
      }),
    )
    assert.equal(p.class, 'clock')
    assert.deepEqual(
      p.reasons.map((r) => r.code),
      ['clock-not-set'],
    )
    assert.match(
      p.reasons[0]!.text,
      /^SPWF04SA 1\.0\.0's clock reads 2000-01-01T00:00:00Z, before every certificate's start \(the earliest valid from .+\): the module's clock was not set$/,
    )
  })

  test('a leaf for another name: hostname, listing the names it has', () => {
    const p = predict(input('spwf04sa-1.0.0', ['leaf-wrong-host', 'int-rsa'], 'root-rsa', 'wrong-host.basic.test'))
    assert.equal(p.class, 'hostname')
    assert.deepEqual(p.reasons, [
      {
        code: 'hostname-mismatch',
        text: 'leaf “CN=other.basic.test” names other.basic.test, not wrong-host.basic.test',
        cert: c('leaf-wrong-host').info.sha256,
      },
    ])
    const many = predict(input('spwf01sa-3.5.3', ['leaf-big', 'int-rsa'], 'root-rsa', 'other.basic.test'))
    assert.equal(
      many.reasons[0]!.text,
      'leaf “CN=big.basic.test” names big.basic.test, san-0.big.basic.test, san-1.big.basic.test, san-2.big.basic.test, san-3.big.basic.test and 76 more, not other.basic.test',
    )
    // Reached by address (hosts file `127.0.0.1:443 sni=…`): the CN is not a name for an address, and the why does not claim there is none.
    const byIp = predict(input('spwf04sa-1.0.0', ['leaf-wrong-host', 'int-rsa'], 'root-rsa', '127.0.0.1'))
    assert.equal(
      byIp.reasons[0]!.text,
      'leaf “CN=other.basic.test” names no IP address (an address is matched against IP SANs only, never the CN), not 127.0.0.1',
    )
  })

  test('an uploaded CA that issued none of the served certificates: untrusted, naming the key id looked for', () => {
    const ca = c('root-untrusted')
    const p = predict(input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], 'root-untrusted', 'rsa2048.basic.test'))
    assert.equal(p.class, 'untrusted')
    assert.equal(p.reasons.length, 1)
    const r = p.reasons[0]!
    assert.equal(r.code, 'ca-not-issuer')
    assert.equal(r.cert, ca.info.sha256)
    assert.equal(
      r.text,
      `the uploaded CA “CN=tlsmatrix Lab Untrusted Root, O=tlsmatrix lab” is not the issuer of any certificate the server sends: SPWF04SA 1.0.0 looked for its key id ${ca.info.ski} in their AKIs (leaf “CN=rsa2048.basic.test”: ${c('leaf-rsa2048').info.aki}; intermediate “CN=tlsmatrix Lab Intermediate RSA 2048, O=tlsmatrix lab”: ${c('int-rsa').info.aki})`,
    )
    const j = judgeChain([c('leaf-rsa2048'), c('int-rsa')], ca, lab.profiles['spwf04sa-1.0.0'], {
      host: 'rsa2048.basic.test',
      now: lab.now,
    })
    assert.deepEqual(j.lines, ['AT-S.Skip CA', 'AT-S.Skip CA'])
    // Path building (SPWF01SA) says the same in its own terms.
    const p01 = predict(input('spwf01sa-3.5.3', ['leaf-rsa2048', 'int-rsa'], 'root-untrusted', 'rsa2048.basic.test'))
    assert.deepEqual([p01.class, p01.reasons[0]!.code], ['untrusted', 'ca-not-issuer'])
    assert.match(
      p01.reasons[0]!.text,
      /^the uploaded CA “CN=tlsmatrix Lab Untrusted Root, O=tlsmatrix lab” is not the issuer of any certificate the server sends/,
    )
  })

  test('no CA uploaded: untrusted', () => {
    const p = predict(input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], null, 'rsa2048.basic.test'))
    assert.deepEqual(
      [p.verdict, p.class, p.reasons],
      [
        'fail',
        'untrusted',
        [{ code: 'no-ca', text: 'no CA is uploaded; SPWF04SA 1.0.0 trusts only its uploaded CA', cert: null }],
      ],
    )
  })

  test('a chain sent out of order fails on the SPWF04SA (it verifies in the order sent), not on path building', () => {
    const served = ['leaf-out-of-order', 'root-rsa', 'int-rsa']
    const p = predict(input('spwf04sa-1.0.0', served, 'root-rsa', 'out-of-order.basic.test'))
    assert.equal(p.class, 'untrusted')
    assert.deepEqual(p.reasons, [
      {
        code: 'chain-order',
        text: 'leaf “CN=out-of-order.basic.test” is not signed by root sent by the server “CN=tlsmatrix Lab Root RSA 2048, O=tlsmatrix lab”, the next certificate sent; SPWF04SA 1.0.0 verifies the chain in the order sent',
        cert: c('leaf-out-of-order').info.sha256,
      },
    ])
    const j = judgeChain(served.map(c), c('root-rsa'), lab.profiles['spwf04sa-1.0.0'], {
      host: 'out-of-order.basic.test',
      now: lab.now,
    })
    assert.deepEqual(j.lines, ['AT-S.Skip CA', 'AT-S.Skip CA', 'AT-S.Loading:1:2'])
    assert.equal(predict(input('spwf01sa-3.5.3', served, 'root-rsa', 'out-of-order.basic.test')).verdict, 'pass')
  })

  test('a signature hash the module cannot verify: untrusted, naming the certificate and the hashes it verifies', () => {
    // The shipped profiles verify SHA-1 to SHA-512; this one (1.0.0 with SHA-1 removed) does not take SHA-1.
    const base = lab.profiles['spwf04sa-1.0.0']
    const profile = { ...base, tls: { ...base.tls, certificateSignatureHashes: ['sha256', 'sha384', 'sha512'] } }
    const served = ['leaf-sha1', 'int-rsa'].map(c)
    const p = predict({
      profile,
      served,
      ca: c('root-rsa'),
      host: 'sha1.basic.test',
      now: lab.now,
      server: { own: ok, broad: null },
    })
    assert.equal(p.class, 'untrusted')
    assert.deepEqual(p.reasons, [
      {
        code: 'signature-hash-unsupported',
        text: 'leaf “CN=sha1.basic.test” is signed with SHA-1; SPWF04SA 1.0.0 verifies SHA-256, SHA-384 and SHA-512 signatures only',
        cert: c('leaf-sha1').info.sha256,
      },
    ])
    assert.equal(
      predict({
        profile: base,
        served,
        ca: c('root-rsa'),
        host: 'sha1.basic.test',
        now: lab.now,
        server: { own: ok, broad: null },
      }).verdict,
      'pass',
    )
  })

  test("the caller's issued() is the only signature check used", () => {
    const calls: string[] = []
    const issued = (child: ParsedCert, issuer: ParsedCert) => {
      calls.push(`${child.info.sha256}>${issuer.info.sha256}`)
      return issuedBy(child, issuer)
    }
    const p = predict(
      input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], 'root-rsa', 'rsa2048.basic.test', { issued }),
    )
    assert.equal(p.verdict, 'pass')
    assert.deepEqual(calls, [
      `${c('leaf-rsa2048').info.sha256}>${c('int-rsa').info.sha256}`,
      `${c('int-rsa').info.sha256}>${c('root-rsa').info.sha256}`,
    ])
    // A check that says no is believed: the chain is then untrusted.
    const no = predict(
      input('spwf04sa-1.0.0', ['leaf-rsa2048', 'int-rsa'], 'root-rsa', 'rsa2048.basic.test', { issued: () => false }),
    )
    assert.deepEqual([no.class, no.reasons[0]!.code], ['untrusted', 'chain-order'])
  })
})
