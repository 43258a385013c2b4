import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isAppError } from '../../src/core/errors.js'
import { dataPath } from '../../src/core/paths.js'
import { readLabSpec, validateLabSpec } from '../../src/lab/index.js'

test('a misspelt key anywhere in a lab spec is refused, naming its JSON path and the keys there, instead of being ignored', async () => {
  const spec = structuredClone(await readLabSpec(dataPath('lab', 'basic.json'))) as unknown as {
    certificates: Record<string, Record<string, unknown>>
    hosts: Record<string, Record<string, unknown>>
  }
  spec.certificates['root-rsa']!.sanz = ['x.test']
  spec.hosts['rsa2048.basic.test']!.expcet = 'pass'
  spec.hosts['rsa2048.basic.test']!.server = { behavior: 'stall' }
  let message = ''
  assert.throws(
    () => validateLabSpec(spec, 'spec.json'),
    (err) => {
      message = (err as Error).message
      return isAppError(err, 'LAB_SPEC_INVALID')
    },
  )
  assert.match(message, /^spec\.json: certificates\.root-rsa: unknown key "sanz" \(subject, key, .*sans, /m)
  assert.match(message, /^spec\.json: hosts\.rsa2048\.basic\.test: unknown key "expcet" \(.*expect\)$/m)
  assert.match(
    message,
    /^spec\.json: hosts\.rsa2048\.basic\.test\.server: unknown key "behavior" \(.*behaviour, port\)$/m,
  )
})

test('wrong types are named at their entry, and the types of a valid spec are what the schema says', async () => {
  const spec = structuredClone(await readLabSpec(dataPath('lab', 'basic.json'))) as unknown as {
    certificates: Record<string, Record<string, unknown>>
    hosts: Record<string, Record<string, unknown>>
  }
  spec.certificates['root-rsa']!.ca = 'yes'
  spec.hosts['rsa2048.basic.test']!.expect = 'maybe'
  spec.hosts['rsa2048.basic.test']!.port = 70000
  let message = ''
  assert.throws(
    () => validateLabSpec(spec, 'spec.json'),
    (err) => {
      message = (err as Error).message
      return isAppError(err, 'LAB_SPEC_INVALID')
    },
  )
  assert.match(message, /^spec\.json: certificates\.root-rsa\.ca: /m)
  assert.match(message, /^spec\.json: hosts\.rsa2048\.basic\.test: expect must be pass or fail$/m)
  assert.match(message, /^spec\.json: hosts\.rsa2048\.basic\.test: port must be 1-65535/m)
  const good = validateLabSpec(await readLabSpec(dataPath('lab', 'basic.json')), 'basic.json')
  assert.equal(good.hosts['rsa2048.basic.test']?.certificate, 'leaf-rsa2048')
})
