import { webcrypto } from 'node:crypto'
import { x509Lib } from '../core/x509.js'

/**
 * A throw-away CA for the store check: P-256 (small, so the upload is quick even at 9600 baud),
 * with a SubjectKeyIdentifier for the module's answer to be compared with. Never trusted by anything.
 */
export async function throwAwayCa(now: Date): Promise<{ der: Buffer; ski: string }> {
  const x509 = x509Lib()
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const skiExt = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=tlsmatrix doctor throw-away CA',
    notBefore: new Date(now.getTime() - 86_400_000),
    notAfter: new Date(now.getTime() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      skiExt,
    ],
  })
  return { der: Buffer.from(cert.rawData), ski: skiExt.keyId.toLowerCase() }
}
