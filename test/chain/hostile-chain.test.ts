import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLab, validateLabSpec } from '../../src/lab/index.js'
import { labResolver, labTargets } from '../helpers/lab.js'

test('a server sending a chain larger than the cap gets chain-too-large, quickly and without buffering it all', async () => {
  // 3,000 SANs make a ~70 KB certificate; sent five times the Certificate message is ~350 KB.
  const spec = validateLabSpec(
    {
      name: 'huge',
      certificates: {
        root: { subject: 'CN=Huge Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
        big: { subject: 'CN=huge.test', key: 'ec-p256', issuer: 'root', sans: ['huge.test'], extraSans: 3000 },
      },
      hosts: { 'huge.test': { certificate: 'big', send: ['big', 'big', 'big', 'big', 'big'] } },
    },
    'inline',
  )
  const lab = await startLab(spec, {
    cacheDir: mkdtempSync(join(tmpdir(), 'tlsmatrix-huge-')),
    now: new Date(),
    ephemeralPorts: true,
  })
  try {
    const resolver = await labResolver(lab)
    const o = await resolver.resolve(labTargets(lab).get('huge.test')!)
    assert.equal(o.error?.code, 'chain-too-large')
    assert.match(o.error.message, /exceeds 262144/)
    assert.deepEqual(o.served, [])
  } finally {
    await lab.close()
  }
})

test("a Certificate message over Node's 100 KiB limit but under our cap is captured from the wire and says whose limit stopped it", async () => {
  // ~70 KB per certificate, sent twice with the root: ~140 KB, between OpenSSL's max_cert_list
  // (100 KiB, which Node cannot raise) and tlsmatrix's 256 KiB cap, like badssl's 10000-sans.
  const spec = validateLabSpec(
    {
      name: 'over-node',
      certificates: {
        root: { subject: 'CN=Over Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
        big: { subject: 'CN=over.test', key: 'ec-p256', issuer: 'root', sans: ['over.test'], extraSans: 3000 },
      },
      hosts: { 'over.test': { certificate: 'big', send: ['big', 'big', 'root'] } },
    },
    'inline',
  )
  const lab = await startLab(spec, {
    cacheDir: mkdtempSync(join(tmpdir(), 'tlsmatrix-over-')),
    now: new Date(),
    ephemeralPorts: true,
  })
  try {
    const resolver = await labResolver(lab)
    const o = await resolver.resolve(labTargets(lab).get('over.test')!)
    assert.equal(o.error?.code, 'chain-over-node-limit')
    assert.match(o.error.message, /102400 bytes Node's TLS library accepts/)
    assert.doesNotMatch(o.error.message, /\n/)
    assert.equal(o.capture, 'wire')
    // The chain exactly as sent, duplicates included, and the anchors planning needs.
    assert.deepEqual(
      o.served.map((c) => c.info.subject),
      ['CN=over.test', 'CN=over.test', 'CN=Over Root'],
    )
    const total = o.served.reduce((n, c) => n + c.info.derBytes + 3, 3)
    assert.ok(total > 100 * 1024 && total <= 256 * 1024, `message ${total} bytes`)
    assert.ok(o.anchors.some((a) => a.cert.info.subject === 'CN=Over Root' && a.match.includes('path')))
  } finally {
    await lab.close()
  }
})
