import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, X509Certificate } from 'node:crypto'
import { throwAwayCa } from '../../src/doctor/test-ca.js'
import { commentSafe, pemFiles } from '../../src/report/render/pem.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { cert, hostileModel } from './render-fixture.js'

// A subject and a target name as a hostile database could hold them: line breaks and PEM boundaries.
const INJECT = 'CN=x\r\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIBfake\u202e\u0000'

test('the PEM export: comments can neither break a line nor open or close a block; a CA whose DER does not match is left out', async () => {
  const good = await throwAwayCa(new Date())
  const other = await throwAwayCa(new Date())
  const sha = createHash('sha256').update(good.der).digest('hex')
  const shaOther = createHash('sha256').update(other.der).digest('hex')
  const base = hostileModel()
  const model: ReportModel = {
    ...base,
    title: `t${INJECT}`,
    certificates: {
      [sha]: { ...cert(sha, INJECT, 'x'), selfSigned: false, issuer: INJECT },
      [shaOther]: cert(shaOther, INJECT, 'y'),
    },
    anchorSets: [
      {
        module: `SPWF${INJECT}/../x`,
        firmware: '1.1.0',
        anchors: [sha, shaOther],
        covers: [`t${INJECT}:443`],
        bytes: 900,
        exact: true,
        perTarget: [
          { target: `t${INJECT}:443`, anchors: [sha] },
          { target: 'u.test:443', anchors: [shaOther] },
          { target: `v${INJECT}:443`, anchors: ['9'.repeat(64)] },
        ],
        limitBytes: 4096,
        store: { caSlots: 1, caBundle: true, maxCaBytes: 4096 },
        uncovered: [{ target: `v${INJECT}:443`, anchors: ['9'.repeat(64)] }],
      },
    ],
  }
  // The second CA's stored DER is another certificate's: it is left out, not written under a false name.
  const files = pemFiles(model, {
    certificateDer: (s) => (s === sha ? good.der : s === shaOther ? good.der : null),
    untrustedAnchors: () => new Set([sha]),
  })
  assert.equal(files.length, 1)
  const f = files[0]!
  assert.match(f.name, /^ca-[A-Za-z0-9._-]+-1\.1\.0\.pem$/)
  assert.doesNotMatch(f.name, /\//)
  const blocks = [...f.text.matchAll(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+)-----END CERTIFICATE-----$/gm)]
  assert.equal(blocks.length, 1)
  assert.equal(new X509Certificate(blocks[0]![0]).fingerprint256.replace(/:/g, '').toLowerCase(), sha)
  // Exactly one BEGIN and one END in the whole text (mbedTLS finds them anywhere, not only at a line start).
  assert.equal(f.text.split('-----BEGIN').length, 2)
  assert.equal(f.text.split('-----END').length, 2)
  const outside = f.text.replace(blocks[0]![0], '')
  for (const line of outside.split('\n')) {
    assert.ok(line === '' || line.startsWith('# '), JSON.stringify(line))
    assert.match(line, /^[\x20-\x7e]*$/, JSON.stringify(line))
  }
  assert.doesNotMatch(outside, /--/)
  assert.match(f.text, /WARNING: in no trust store/)
  assert.match(f.text, /LEFT OUT: the database holds no certificate with this fingerprint/)
  assert.match(f.text, /need another provisioning/)
})

test('commentSafe: printable ASCII, no run of dashes, bounded', () => {
  assert.equal(commentSafe('a\r\nb-----c\u202ed'), 'a??b-c?d')
  assert.equal(commentSafe('x'.repeat(500)).length, 200)
})
