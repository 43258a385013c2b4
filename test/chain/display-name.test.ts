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
  assert.ok(a.length <= 40 && a.endsWith('…'))
})

test('the CN comes first wherever it stands, then the rest from specific to general', () => {
  assert.equal(displayName('C=US, O=Example, CN=Example Root', 200), 'CN=Example Root, O=Example, C=US')
  assert.equal(displayName('CN=Example Root, O=Example, C=US', 200), 'CN=Example Root, C=US, O=Example')
})

test('without a CN the last RDN leads; a name that does not parse is only cut', () => {
  assert.equal(displayName('C=US, O=Example Org, OU=Roots', 200), 'OU=Roots, O=Example Org, C=US')
  assert.equal(displayName('', 10), '')
  assert.equal(displayName('not a DN at all, really not', 12).length, 12)
})

test('escaped commas and quoted values stay inside their RDN', () => {
  assert.equal(displayName('O=Acme\\, Inc., CN=Acme Root', 200), 'CN=Acme Root, O=Acme\\, Inc.')
  assert.equal(displayName('O="Acme, Inc.", CN=Acme Root', 200), 'CN=Acme Root, O="Acme, Inc."')
})
