import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ServerFlightReader } from '../../src/chain/tls-records.js'

const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
const handshake = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), u24(body.length), body])
const record = (type: number, fragment: Buffer) =>
  Buffer.concat([Buffer.from([type, 3, 3, fragment.length >> 8, fragment.length & 0xff]), fragment])

function serverHello(version = 0x0303, supportedVersion?: number): Buffer {
  const ext = supportedVersion
    ? Buffer.from([0, 43, 0, 2, supportedVersion >> 8, supportedVersion & 0xff])
    : Buffer.alloc(0)
  return handshake(
    2,
    Buffer.concat([
      Buffer.from([version >> 8, version & 0xff]),
      Buffer.alloc(32, 7),
      Buffer.from([0]),
      Buffer.from([0xc0, 0x2f, 0]),
      Buffer.from([ext.length >> 8, ext.length & 0xff]),
      ext,
    ]),
  )
}

function certificateMessage(certs: Buffer[]): Buffer {
  const list = Buffer.concat(certs.map((c) => Buffer.concat([u24(c.length), c])))
  return handshake(11, Buffer.concat([u24(list.length), list]))
}

const certs = [Buffer.alloc(700, 1), Buffer.alloc(300, 2), Buffer.alloc(700, 1), Buffer.alloc(5, 3)]

function flight(): Buffer {
  // The Certificate message spans two records, as real servers do for big chains.
  const hs = Buffer.concat([serverHello(), certificateMessage(certs), handshake(14, Buffer.alloc(0))])
  return Buffer.concat([record(22, hs.subarray(0, 900)), record(22, hs.subarray(900))])
}

test('reads the Certificate message exactly as sent, duplicates and order kept', () => {
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  r.push(flight())
  assert.equal(r.state.kind, 'done')
  assert.equal(r.serverVersion, 0x0303)
  assert.deepEqual(r.certificates, certs)
})

test('gives the same answer however the bytes are split', () => {
  const bytes = flight()
  for (let cut = 1; cut < bytes.length; cut++) {
    const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
    r.push(bytes.subarray(0, cut))
    r.push(bytes.subarray(cut))
    assert.deepEqual(r.certificates, certs, `split at ${cut}`)
  }
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  for (const b of bytes) r.push(Buffer.from([b]))
  assert.deepEqual(r.certificates, certs, 'one byte at a time')
})

test('spots a server that does not speak TLS at the first bytes', () => {
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  r.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))
  assert.equal(r.state.kind, 'not-tls')
})

test('records an alert by name', () => {
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  r.push(record(21, Buffer.from([2, 70])))
  assert.deepEqual(r.alert, { level: 2, code: 70, name: 'protocol-version' })
})

test('stops at a TLS 1.3 ServerHello: what follows is encrypted', () => {
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  r.push(record(22, serverHello(0x0303, 0x0304)))
  assert.equal(r.serverVersion, 0x0304)
  assert.equal(r.state.kind, 'done')
  assert.equal(r.certificates, null)
})

test('refuses a Certificate message over the cap without buffering it', () => {
  const r = new ServerFlightReader({ maxCertificateMessage: 1000 })
  r.push(record(22, Buffer.concat([serverHello(), certificateMessage(certs).subarray(0, 100)])))
  assert.equal(r.state.kind, 'too-large')
})

test('rejects a certificate list whose lengths disagree', () => {
  const bad = certificateMessage(certs)
  bad.writeUIntBE(0xffff, 4 + 3 + 0, 3) // first certificate claims 64 KiB
  const r = new ServerFlightReader({ maxCertificateMessage: 1 << 20 })
  r.push(record(22, Buffer.concat([serverHello(), bad])))
  assert.equal(r.state.kind, 'malformed')
})
