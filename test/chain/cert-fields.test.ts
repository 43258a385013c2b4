import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rootCertificates } from 'node:tls'
import { pemBlocks } from '../../src/chain/index.js'
import { libraryFields } from '../../src/chain/cert-info.js'
import { fastFields, Unusual } from '../../src/chain/cert-fields.js'
import { startTestLab } from '../helpers/lab.js'

/** Every certificate the lab issues (RSA, ECDSA, SHA-1, many SANs, AIA, no SKI/AKI…). */
async function labCertificates(): Promise<Buffer[]> {
  const lab = await startTestLab()
  await lab.close()
  return [...lab.pki.certs.values()].map((c) => Buffer.from(c.der))
}

test('the DER fast path reads exactly what @peculiar/x509 reads, on every bundled root and lab certificate', async () => {
  const all = [...rootCertificates.flatMap((p) => pemBlocks(p)), ...(await labCertificates())]
  let fast = 0
  for (const der of all) {
    let f
    try {
      f = fastFields(der)
    } catch (err) {
      assert.ok(err instanceof Unusual)
      continue
    }
    fast++
    const lib = libraryFields(der)
    assert.deepEqual(
      { ...f, serial: f.serial.toLowerCase(), ski: f.ski?.toLowerCase() ?? null, aki: f.aki?.toLowerCase() ?? null },
      {
        ...lib,
        serial: lib.serial.toLowerCase(),
        ski: lib.ski?.toLowerCase() ?? null,
        aki: lib.aki?.toLowerCase() ?? null,
      },
      lib.subject,
    )
  }
  // The fast path is the common case, not a rarity; the lab's own certificates were compared too.
  assert.ok(all.length > rootCertificates.length + 20)
  assert.ok(fast > all.length * 0.8, `${fast} of ${all.length}`)
})

test('anything unusual goes to the library: a SAN type the fast path does not format, a bad time', () => {
  const der = pemBlocks(rootCertificates[0]!)[0]!
  assert.throws(() => fastFields(der.subarray(0, der.length - 1)), Unusual)
  assert.throws(() => fastFields(Buffer.from('3003020101', 'hex')), Unusual)
})
