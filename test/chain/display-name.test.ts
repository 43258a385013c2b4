import assert from 'node:assert/strict'
import { test } from 'node:test'
import { displayName } from '../../src/chain/display-name.js'

const prefix = 'C=US, ST=California, L=San Francisco, O=BadSSL Fallback. Unknown subdomain or no SNI'

test('two CAs whose names share a long prefix stay apart after truncation', () => {
  const root = `${prefix}, CN=BadSSL Untrusted Root Certificate Authority`
  const int = `${prefix}, CN=BadSSL Intermediate Certificate Authority`
  assert.ok(root.slice(0, 60) === int.slice(0, 60), 'the raw subjects are alike for 60 characters')
  const a = displayName(root, 40)
  const b = displayName(int, 40)
  assert.notEqual(a, b)
  assert.match(a, /^CN=BadSSL Untrusted Root/)
  assert.match(b, /^CN=BadSSL Intermediate/)
  assert.ok(a.length <= 40 && a.includes(' … '), a)
})

test('a long CA name is cut in its middle: the end that tells siblings apart stays', () => {
  const g5 =
    'C=US, O=VeriSign, Inc., OU=VeriSign Trust Network, OU=(c) 2006 VeriSign, Inc. - For authorized use only, CN=VeriSign Class 3 Public Primary Certification Authority - G5'
  // The default length keeps the longest CA names in use whole (the rest of the DN left out).
  assert.equal(displayName(g5), 'CN=VeriSign Class 3 Public Primary Certification Authority - G5')
  const g2 = 'CN=Entrust Root Certification Authority - G2 (tlsmatrix lab), O=Entrust-like'
  const g1 = 'CN=Entrust Root Certification Authority (tlsmatrix lab), O=Entrust-like'
  // Too long for the room: the start and the end stay, the middle goes.
  for (const max of [40, 50]) {
    const a = displayName(g2, max)
    const b = displayName(g1, max)
    assert.ok(a.length <= max && b.length <= max, `${a} / ${b}`)
    assert.match(a, /^CN=Entrust Root.* … .*G2 \(tlsmatrix lab\)$/, a)
    assert.notEqual(a, b)
  }
  assert.equal(
    displayName('CN=VeriSign Class 3 Public Primary Certification Authority - G5', 50),
    'CN=VeriSign Class 3 Public … Authority - G5',
  )
  // Whole RDNs after the CN, then `, …` for those left out: never half an RDN.
  assert.equal(
    displayName('CN=DigiCert High Assurance EV Root CA (tlsmatrix lab), O=DigiCert Inc-like', 60),
    'CN=DigiCert High Assurance EV Root CA (tlsmatrix lab), …',
  )
})

test('the CN comes first wherever it stands, then the rest from specific to general', () => {
  assert.equal(displayName('C=US, O=Example, CN=Example Root', 200), 'CN=Example Root, O=Example, C=US')
  assert.equal(displayName('CN=Example Root, O=Example, C=US', 200), 'CN=Example Root, C=US, O=Example')
})

test('without a CN the last RDN leads; a name that does not parse is only cut', () => {
  assert.equal(displayName('C=US, O=Example Org, OU=Roots', 200), 'OU=Roots, O=Example Org, C=US')
  assert.equal(displayName('', 10), '')
  assert.ok(displayName('not a DN at all, really not', 12).length <= 12)
})

test('escaped commas and quoted values stay inside their RDN', () => {
  assert.equal(displayName('O=Acme\\, Inc., CN=Acme Root', 200), 'CN=Acme Root, O=Acme\\, Inc.')
  assert.equal(displayName('O="Acme, Inc.", CN=Acme Root', 200), 'CN=Acme Root, O="Acme, Inc."')
})
