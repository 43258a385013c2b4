import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAppError } from '../../src/core/errors.js'
import { parseClientHello } from '../../src/learn/lab/index.js'

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
function vec16(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([u16(body.length), body])
}
function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)])
}

/** A ClientHello written by hand: GREASE, both SCSVs, an unknown suite, SNI, groups, schemes, versions. */
function handHello(): Buffer {
  const suites = [0x0a0a, 0x1301, 0xc02f, 0x002f, 0xc0ff, 0x00ff, 0x5600].map(u16)
  const extensions = Buffer.concat([
    ext(0x2a2a, Buffer.alloc(0)),
    ext(0, vec16(Buffer.from([0]), vec16(Buffer.from('probe.example')))),
    ext(10, vec16(...[0x3a3a, 29, 23, 24, 0x0101].map(u16))),
    ext(11, Buffer.from([1, 0])),
    ext(13, vec16(...[0x0804, 0x0401, 0x0201, 0x0203, 0x0403, 0x0809, 0x0807, 0xeeee].map(u16))),
    ext(43, Buffer.concat([Buffer.from([6]), u16(0x4a4a), u16(0x0304), u16(0x0303)])),
    ext(0xff01, Buffer.from([0])),
  ])
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 7),
    Buffer.from([32]),
    Buffer.alloc(32, 9),
    vec16(...suites),
    Buffer.from([1, 0]),
    vec16(extensions),
  ])
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body])
  return hs
}

function record(hs: Buffer, version = 0x0301): Buffer {
  return Buffer.concat([Buffer.from([22]), u16(version), u16(hs.length), hs])
}

const notAHello = (err: unknown) => isAppError(err, 'NOT_A_CLIENT_HELLO')

describe('parseClientHello', () => {
  test('reads every field by its IANA name; GREASE skipped, SCSVs apart, unknown values as 0xNNNN', () => {
    const h = parseClientHello(record(handHello()))!
    assert.equal(h.legacyVersion, 'TLSv1.2')
    assert.deepEqual(h.supportedVersions, ['TLSv1.3', 'TLSv1.2'])
    assert.deepEqual(h.cipherSuites, [
      'TLS_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_RSA_WITH_AES_128_CBC_SHA',
      '0xC0FF',
    ])
    assert.deepEqual(h.scsv, ['TLS_EMPTY_RENEGOTIATION_INFO_SCSV', 'TLS_FALLBACK_SCSV'])
    assert.deepEqual(h.compression, [0])
    assert.equal(h.sni, 'probe.example')
    assert.deepEqual(h.groups, ['x25519', 'secp256r1', 'secp384r1', 'ffdhe3072'])
    assert.deepEqual(h.signatureAlgorithms, [
      'rsa_pss_rsae_sha256',
      'rsa_pkcs1_sha256',
      'rsa_pkcs1_sha1',
      'ecdsa_sha1',
      'ecdsa_secp256r1_sha256',
      'rsa_pss_pss_sha256',
      'ed25519',
      '0xEEEE',
    ])
    assert.deepEqual(
      h.extensions.map((e) => e.name),
      [
        'ext-10794',
        'server_name',
        'supported_groups',
        'ec_point_formats',
        'signature_algorithms',
        'supported_versions',
        'renegotiation_info',
      ],
    )
    assert.deepEqual(h.raw, handHello())
  })

  test('a hello without extensions; a hello split over two records', () => {
    const hs = handHello()
    const bare = Buffer.from(hs.subarray(0, 4 + 2 + 32 + 1 + 32 + 2 + 14 + 2))
    bare.writeUIntBE(bare.length - 4, 1, 3)
    const h = parseClientHello(record(bare))!
    assert.equal(h.sni, null)
    assert.deepEqual(h.groups, [])
    assert.deepEqual(h.signatureAlgorithms, [])
    assert.deepEqual(h.extensions, [])
    assert.equal(h.supportedVersions, null)

    const split = Buffer.concat([record(hs.subarray(0, 3)), record(hs.subarray(3, 100)), record(hs.subarray(100))])
    assert.deepEqual(parseClientHello(split), parseClientHello(record(hs)))
    for (let i = 0; i < split.length; i++) assert.equal(parseClientHello(split.subarray(0, i)), null, `prefix ${i}`)
  })

  test('truncated at every byte: null (more to come) or NOT_A_CLIENT_HELLO, never another error', () => {
    const full = record(handHello())
    for (let i = 0; i < full.length; i++) assert.equal(parseClientHello(full.subarray(0, i)), null, `prefix ${i}`)
    // The message cut short inside a record that claims to be complete: inner lengths overrun.
    const hs = handHello()
    let refused = 0
    for (let i = 4; i < hs.length; i++) {
      const cut = Buffer.from(hs.subarray(0, i))
      cut.writeUIntBE(i - 4, 1, 3)
      try {
        parseClientHello(record(cut))
      } catch (err) {
        assert.ok(notAHello(err), `cut at ${i}: ${String(err)}`)
        refused++
      }
    }
    // Only the cut right after compression_methods is a whole hello (one without extensions).
    assert.equal(refused, hs.length - 4 - 1)
  })

  test('mutated bytes: a hello, null or NOT_A_CLIENT_HELLO, never another error', () => {
    const full = record(handHello())
    let seed = 12345
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff)
    let refused = 0
    for (let n = 0; n < 3000; n++) {
      const m = Buffer.from(full)
      for (let k = 0; k < 1 + (rand() % 3); k++) m[rand() % m.length] = rand() & 0xff
      try {
        parseClientHello(m)
      } catch (err) {
        assert.ok(notAHello(err), `mutation ${n}: ${String(err)}`)
        refused++
      }
    }
    assert.ok(refused > 0)
  })

  test('garbage, other records and oversized hellos are refused', () => {
    assert.throws(() => parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), notAHello)
    assert.throws(() => parseClientHello(Buffer.from([21, 3, 1, 0, 2, 2, 40])), notAHello)
    assert.throws(() => parseClientHello(Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02])), notAHello)
    assert.throws(() => parseClientHello(record(Buffer.from([2, 0, 0, 0]))), notAHello)
    // A header announcing more than 16 KiB is refused before the rest arrives.
    const big = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x00, 0x50, 0x00])
    assert.throws(() => parseClientHello(big), notAHello)
  })
})
