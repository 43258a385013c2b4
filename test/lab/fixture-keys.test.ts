import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dataPath } from '../../src/core/paths.js'
import { readLabSpec } from '../../src/lab/index.js'
import { keyOwners } from '../../src/lab/pki.js'
import { FIXTURE_LABS, fixtureKeys, labCacheDir } from '../helpers/lab-keys.js'
import { startTestLab } from '../helpers/lab.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

test('the committed test keys cover every key of the labs tests start, each of its declared type, no two alike', async () => {
  const seen = new Map<string, string>()
  for (const file of FIXTURE_LABS) {
    const spec = await readLabSpec(ROOT + file)
    const mine = fixtureKeys()[spec.name] ?? {}
    for (const { keyName, keySpec } of keyOwners(spec).values()) {
      const id = `${keyName}.${keySpec}`
      const b64 = mine[id]
      assert.ok(b64, `${file}: no fixture key ${id}; run node --import tsx scripts/test-lab-keys.ts`)
      const key = createPrivateKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'pkcs8' })
      const d = key.asymmetricKeyDetails!
      const type =
        key.asymmetricKeyType === 'rsa'
          ? `rsa-${d.modulusLength}`
          : `ec-${{ prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' }[d.namedCurve!]}`
      assert.equal(type, keySpec, `${file}: ${id}`)
      // A key shared by two names would make a chain verify under a CA it does not name.
      const other = seen.get(b64)
      assert.ok(!other || other === `${spec.name}/${id}`, `${spec.name}/${id} is the same key as ${other}`)
      seen.set(b64, `${spec.name}/${id}`)
    }
  }
})

test('a test lab uses the fixture keys from a cache of its own process: no key generated, data/lab/.cache untouched', async () => {
  const cacheBefore = existsSync(dataPath('lab', '.cache', 'basic'))
  const lab = await startTestLab('basic')
  try {
    const fixtures = fixtureKeys().basic!
    assert.ok(lab.pki.keys.size > 20)
    for (const [name, k] of lab.pki.keys)
      assert.equal(k.pkcs8.toString('base64'), fixtures[`${name}.${k.spec}`], `key ${name} is the fixture's`)
    const dir = labCacheDir(lab.spec)
    assert.ok(!relative(tmpdir(), dir).startsWith('..'), `${dir} is a temporary directory`)
    assert.match(dir, new RegExp(`tlsmatrix-test-lab-cache-`))
    assert.equal(existsSync(dataPath('lab', '.cache', 'basic')), cacheBefore, 'the user cache is not written')
  } finally {
    await lab.close()
  }
})
