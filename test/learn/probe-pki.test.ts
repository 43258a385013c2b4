import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createSecureContext } from 'node:tls'
import { issuedBy, parseCertificate } from '../../src/chain/cert-info.js'
import { isAppError } from '../../src/core/errors.js'
import { loadProfile } from '../../src/families/index.js'
import { judgeChain } from '../../src/predict/index.js'
import { ProbePki, startProbeServer, type ProbeCert } from '../../src/learn/lab/index.js'
import { toPem } from '../../src/chain/pem.js'

describe('probe PKI', () => {
  const now = new Date()
  let pki: ProbePki
  let rsaRoot: ProbeCert
  let ecRoot: ProbeCert

  before(async () => {
    pki = new ProbePki(now)
    rsaRoot = await pki.issue({
      subject: 'CN=probe rsa root, O=tlsmatrix learn',
      key: 'rsa-2048',
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
    ecRoot = await pki.issue({
      subject: 'CN=probe ec root, O=tlsmatrix learn',
      key: 'ec-p384',
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
  })

  test('issueSized: every target from the unpadded size to +3000 (step 37) gives exactly that size or the largest below', async () => {
    for (const [key, issuer] of [
      ['rsa-2048', () => rsaRoot],
      ['ec-p256', () => ecRoot],
    ] as const) {
      const opts = { subject: 'CN=sized.probe.test', key, issuer: issuer(), sans: ['sized.probe.test'] }
      const base = await pki.issue(opts)
      // The unpadded size (an ECDSA signature may make `issue` a byte or two shorter).
      const min = (await pki.issueSized(opts, base.der.length + 2)).der.length
      assert.ok(min >= base.der.length)
      let exact = 0
      const seen: number[] = []
      for (let target = min; target <= min + 3000; target += 37) {
        const c = await pki.issueSized(opts, target)
        const size = c.der.length
        assert.ok(size <= target, `${key}: ${size} > ${target}`)
        // Only the padding extension's own overhead, or a DER length step, leaves a gap.
        assert.ok(target - size <= 20, `${key}: ${size} for ${target}`)
        if (size === target) exact++
        seen.push(size)
        const parsed = parseCertificate(c.der)
        assert.ok(issuedBy(parsed, parseCertificate(issuer().der)), `${key}: the padded certificate verifies`)
      }
      assert.ok(exact >= seen.length - 2, `${key}: ${exact} of ${seen.length} exact`)
      await assert.rejects(pki.issueSized(opts, min - 1), (err) => isAppError(err, 'USAGE'))
    }
  })

  test('RSA-PSS: verifies (issuedBy), reports rsa-pss, is refused by a profile without it and accepted with it; OpenSSL serves it', async () => {
    const leaf = await pki.issue({
      subject: 'CN=pss.probe.test',
      key: 'rsa-2048',
      issuer: rsaRoot,
      signature: 'rsa-pss',
      sans: ['pss.probe.test'],
    })
    const p = parseCertificate(leaf.der)
    const root = parseCertificate(rsaRoot.der)
    assert.equal(p.info.signatureHash, 'rsa-pss')
    assert.equal(p.info.signature, 'rsa-pss-sha256')
    assert.ok(issuedBy(p, root))
    assert.equal(issuedBy(p, parseCertificate(ecRoot.der)), false)

    // The module judges by signatureHash: a profile without rsa-pss distrusts the chain, one with it takes it.
    const profile = await loadProfile('spwf01sa-3.5.3')
    const judge = (hashes: string[]) =>
      judgeChain(
        [p],
        root,
        { ...profile, tls: { ...profile.tls, certificateSignatureHashes: hashes } },
        { host: 'pss.probe.test', now },
      )
    const without = judge(['sha1', 'sha256'])
    assert.equal(without.class, 'untrusted')
    assert.equal(without.reasons[0]!.code, 'signature-hash-unsupported')
    assert.match(without.reasons[0]!.text, /signed with RSA-PSS/)
    assert.equal(judge(['sha256', 'rsa-pss']).class, null)

    // A real handshake: OpenSSL on both sides takes the PSS-signed chain.
    const server = await startProbeServer({ address: '127.0.0.1' })
    try {
      server.serve({ kind: 'tls', chain: [leaf.der], key: leaf.key, versions: ['TLSv1.2'] })
      const verified = await new Promise<boolean>((resolve) => {
        const c = connect(
          {
            host: '127.0.0.1',
            port: server.port,
            servername: 'pss.probe.test',
            secureContext: createSecureContext({ ca: toPem(rsaRoot.der) }),
          },
          () => {
            resolve(c.authorized)
            c.destroy()
          },
        )
        c.on('error', () => resolve(false))
      })
      assert.equal(verified, true)
    } finally {
      await server.close()
    }
    await assert.rejects(pki.issue({ subject: 'CN=x', key: 'rsa-2048', issuer: ecRoot, signature: 'rsa-pss' }), (err) =>
      isAppError(err, 'USAGE'),
    )
  })

  test("keyIds false: no SKI and no AKI; keyIds default: the AKI names the issuer's SKI", async () => {
    const bare = await pki.issue({
      subject: 'CN=bare.probe.test',
      key: 'rsa-2048',
      issuer: rsaRoot,
      keyIds: false,
      sans: ['bare.probe.test'],
    })
    const b = parseCertificate(bare.der)
    assert.equal(bare.ski, null)
    assert.equal(b.info.ski, null)
    assert.equal(b.info.aki, null)
    const withIds = parseCertificate(
      (await pki.issue({ subject: 'CN=ids.probe.test', key: 'rsa-2048', issuer: rsaRoot })).der,
    )
    assert.equal(withIds.info.aki, rsaRoot.ski)
    assert.ok(withIds.info.ski)
  })

  test('sans omitted: CN only; keySlot: the same slot shares a key, another slot does not', async () => {
    const cn = await pki.issue({
      subject: 'CN=cn-only.probe.test, O=tlsmatrix learn',
      key: 'rsa-2048',
      issuer: rsaRoot,
    })
    const c = parseCertificate(cn.der)
    assert.deepEqual(c.info.sans, [])
    assert.match(c.info.subject, /CN=cn-only\.probe\.test/)
    const again = await pki.issue({ subject: 'CN=reissue', key: 'rsa-2048', issuer: rsaRoot })
    const other = await pki.issue({ subject: 'CN=other', key: 'rsa-2048', keySlot: 'b', issuer: rsaRoot })
    assert.deepEqual(again.key.spki, cn.key.spki)
    assert.notDeepEqual(other.key.spki, cn.key.spki)
  })

  test('EC issuer with SHA-384; RSA issuer with SHA-1; validity defaults anchored at now', async () => {
    const leaf = await pki.issue({
      subject: 'CN=ec.probe.test',
      key: 'ec-p256',
      issuer: ecRoot,
      signature: 'sha384',
      sans: ['ec.probe.test'],
    })
    const p = parseCertificate(leaf.der)
    assert.equal(p.info.signature, 'ecdsa-sha384')
    assert.equal(p.info.signatureHash, 'sha384')
    assert.equal(p.info.key.curve, 'P-256')
    assert.ok(issuedBy(p, parseCertificate(ecRoot.der)))
    assert.equal(Date.parse(p.info.notBefore), Math.floor((now.getTime() - 86_400_000) / 1000) * 1000)
    assert.equal(Date.parse(p.info.notAfter), Math.floor((now.getTime() + 365 * 86_400_000) / 1000) * 1000)
    const sha1 = parseCertificate(
      (await pki.issue({ subject: 'CN=sha1.probe.test', key: 'rsa-1024', issuer: rsaRoot, signature: 'sha1' })).der,
    )
    assert.equal(sha1.info.signatureHash, 'sha1')
    assert.equal(sha1.info.key.bits, 1024)
    assert.ok(issuedBy(sha1, parseCertificate(rsaRoot.der)))
  })
})
