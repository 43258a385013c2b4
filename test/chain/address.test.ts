import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fetchAiaCertificates, DEFAULT_AIA } from '../../src/chain/aia.js'
import { isAppError } from '../../src/core/errors.js'
import { parseResolveEntries, resolveAddress } from '../../src/hosts/index.js'

/** A lookup that answers from a table and counts its calls, so no test asks a real resolver. */
function tableLookup(table: Record<string, string>) {
  const asked: string[] = []
  const fn = (host: string): Promise<string> => {
    asked.push(host)
    const a = table[host]
    if (!a) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }))
    return Promise.resolve(a)
  }
  return { fn, asked }
}

test('resolveAddress: the --resolve map first (per port), then an IP literal, then the lookup', async () => {
  const map = parseResolveEntries(['a.test:443:192.0.2.1'])
  const l = tableLookup({ 'a.test': '198.51.100.7' })
  assert.deepEqual(await resolveAddress('A.test', 443, map, l.fn), { address: '192.0.2.1', port: 443 })
  assert.deepEqual(await resolveAddress('a.test', 8443, map, l.fn), { address: '198.51.100.7', port: 8443 })
  assert.deepEqual(await resolveAddress('203.0.113.9', 443, map, l.fn), { address: '203.0.113.9', port: 443 })
  assert.deepEqual(await resolveAddress('[2001:db8::1]', 443, map, l.fn), { address: '2001:db8::1', port: 443 })
  assert.deepEqual(l.asked, ['a.test'])
  await assert.rejects(resolveAddress('nowhere.test', 443, map, l.fn), /ENOTFOUND/)
})

test('AIA judges the address the shared look-up returns: a public-looking name that resolves privately is refused', async () => {
  const l = tableLookup({ 'ca.example.test': '10.0.0.5' })
  await assert.rejects(
    fetchAiaCertificates('http://ca.example.test/int.cer', {
      ...DEFAULT_AIA,
      allowPrivate: false,
      resolveMap: new Map(),
      lookup: l.fn,
    }),
    (err) => isAppError(err, 'AIA_REFUSED') && /10\.0\.0\.5/.test((err as Error).message),
  )
  assert.deepEqual(l.asked, ['ca.example.test'])
})
