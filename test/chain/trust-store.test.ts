import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rootCertificates } from 'node:tls'
import { CertCache, loadTrustStore, parseCertificate, pemBlocks } from '../../src/chain/index.js'
import { indexFields } from '../../src/chain/der-names.js'

class CountingCache extends CertCache {
  parsed = 0
  override parse(der: Buffer) {
    this.parsed++
    return super.parse(der)
  }
}

test('the bundled roots are indexed without being parsed, and a look-up parses only what it returns', async () => {
  const cache = new CountingCache()
  const store = await loadTrustStore({ files: [], only: false }, cache)
  assert.ok(store.size > 100)
  assert.equal(cache.parsed, 0)
  const root = parseCertificate(pemBlocks(rootCertificates[0]!)[0]!)
  assert.ok(store.has(root.info.sha256))
  const issuers = store.issuersOf(root)
  assert.ok(issuers.some((c) => c.info.sha256 === root.info.sha256))
  assert.ok(cache.parsed >= 1 && cache.parsed < 5, `parsed ${cache.parsed}`)
})

test('the DER index agrees with the full parse on every bundled root: names for issuer look-ups, SKI', async () => {
  const store = await loadTrustStore({ files: [], only: false }, new CertCache())
  for (const pem of rootCertificates) {
    const der = pemBlocks(pem)[0]!
    const parsed = parseCertificate(der)
    const f = indexFields(der)
    assert.equal(f.ski, parsed.info.ski, parsed.info.subject)
    // Every root names itself as issuer: the index must find it by the parsed child's issuer.
    if (parsed.subjectKey === parsed.issuerKey)
      assert.ok(
        store.issuersOf(parsed).some((c) => c.info.sha256 === parsed.info.sha256),
        parsed.info.subject,
      )
    if (parsed.info.ski) assert.ok(store.withSki(parsed.info.ski).some((c) => c.info.sha256 === parsed.info.sha256))
  }
})

test('names compare case- and space-insensitively and by attribute type, not by string encoding', () => {
  // Two minimal Names: CN as PrintableString "Example  CA" vs UTF8String "example ca".
  const name = (tag: number, text: string) => {
    const v = Buffer.from(text, 'latin1')
    const atv = Buffer.concat([Buffer.from([0x30, 5 + 2 + v.length, 0x06, 0x03, 0x55, 0x04, 0x03, tag, v.length]), v])
    const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv])
    return Buffer.concat([Buffer.from([0x30, set.length]), set])
  }
  const cert = (issuer: Buffer) => {
    // TBSCertificate with just serial, algorithm, issuer, validity, subject, spki placeholders.
    const tbsBody = Buffer.concat([
      Buffer.from([0x02, 0x01, 0x01, 0x30, 0x00]),
      issuer,
      Buffer.from([0x30, 0x00]),
      issuer,
      Buffer.from([0x30, 0x00]),
    ])
    const tbs = Buffer.concat([Buffer.from([0x30, tbsBody.length]), tbsBody])
    return Buffer.concat([Buffer.from([0x30, tbs.length]), tbs])
  }
  const a = indexFields(cert(name(0x13, 'Example  CA')))
  const b = indexFields(cert(name(0x0c, 'example ca')))
  assert.equal(a.subjectKey, b.subjectKey)
  assert.notEqual(indexFields(cert(name(0x0c, 'other ca'))).subjectKey, a.subjectKey)
})
