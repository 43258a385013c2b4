import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLab, validateLabSpec } from '../../src/lab/index.js'
import { labResolver, labTargets } from '../helpers/lab.js'

test('a server sending a chain larger than the cap gets chain-too-large, quickly and without buffering it all', async () => {
  // 3,000 SANs make a ~70 KB certificate; sent five times the Certificate message is ~350 KB.
  const spec = validateLabSpec({
    name: 'huge',
    certificates: {
      root: { subject: 'CN=Huge Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
      big: { subject: 'CN=huge.test', key: 'ec-p256', issuer: 'root', sans: ['huge.test'], extraSans: 3000 },
    },
    hosts: { 'huge.test': { certificate: 'big', send: ['big', 'big', 'big', 'big', 'big'] } },
  }, 'inline')
  const lab = await startLab(spec, { cacheDir: mkdtempSync(join(tmpdir(), 'tlsmatrix-huge-')), now: new Date(), ephemeralPorts: true })
  try {
    const resolver = await labResolver(lab)
    const o = await resolver.resolve(labTargets(lab).get('huge.test')!)
    assert.equal(o.error?.code, 'chain-too-large')
    assert.match(o.error!.message, /exceeds 262144/)
    assert.deepEqual(o.served, [])
  } finally {
    await lab.close()
  }
})
