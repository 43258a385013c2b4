import { generateKeyPair, webcrypto, createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { AppError } from '../core/errors.js'
import { x509 } from '../core/x509.js'
import type { CertSpec, HashName, KeySpec, LabSpec } from './spec.js'

const generateKeyPairAsync = promisify(generateKeyPair)
const subtle = webcrypto.subtle
const DAY = 86_400_000

export interface KeyMaterial {
  spec: KeySpec
  /** PKCS#8 DER private key and SPKI DER public key. */
  pkcs8: Buffer
  spki: Buffer
}

export interface IssuedCert {
  name: string
  der: Buffer
  keyName: string
}

/** Resolves which key each certificate uses (own, keyOf, sameAs), refusing cycles. */
export function keyOwners(spec: LabSpec): Map<string, { keyName: string; keySpec: KeySpec }> {
  const out = new Map<string, { keyName: string; keySpec: KeySpec }>()
  for (const name of Object.keys(spec.certificates)) {
    let cur = name
    const seen = new Set<string>()
    for (;;) {
      if (seen.has(cur))
        throw new AppError(
          'LAB_SPEC_INVALID',
          `certificates.${name}: keyOf/sameAs loop through ${[...seen].join(' -> ')}`,
        )
      seen.add(cur)
      const c = spec.certificates[cur]!
      const next = c.sameAs ?? c.keyOf
      if (next === undefined) {
        out.set(name, { keyName: cur, keySpec: c.key! })
        break
      }
      cur = next
    }
  }
  return out
}

export async function generateKey(spec: KeySpec): Promise<KeyMaterial> {
  const [kind, size] = spec.split('-') as ['rsa' | 'ec', string]
  const enc = {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  } as const
  const pair =
    kind === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: Number(size), publicExponent: 65537, ...enc })
      : await generateKeyPairAsync('ec', { namedCurve: { p256: 'P-256', p384: 'P-384', p521: 'P-521' }[size]!, ...enc })
  return { spec, pkcs8: pair.privateKey as unknown as Buffer, spki: pair.publicKey as unknown as Buffer }
}

function algorithmFor(key: KeySpec, hash: HashName): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  const h = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }[hash]
  if (key.startsWith('rsa')) return { name: 'RSASSA-PKCS1-v1_5', hash: h }
  return {
    name: 'ECDSA',
    namedCurve: { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' }[key as 'ec-p256']!,
    hash: h,
  } as webcrypto.EcKeyImportParams
}

/** The subject DN of a certificate, following sameAs. */
function subjectOf(spec: LabSpec, name: string): string {
  const c = spec.certificates[name]!
  if (c.sameAs) return subjectOf(spec, c.sameAs)
  // validateLabSpec refuses a certificate with neither.
  if (c.subject === undefined) throw new AppError('LAB_SPEC_INVALID', `certificates.${name}: no subject`)
  return c.subject
}

export interface IssueContext {
  spec: LabSpec
  keys: Map<string, KeyMaterial>
  owners: Map<string, { keyName: string; keySpec: KeySpec }>
  now: Date
  aiaBase: string | null
}

/** Issues one certificate of the spec with @peculiar/x509. Deterministic serial from the name. */
export async function issueCertificate(name: string, ctx: IssueContext): Promise<IssuedCert> {
  const c: CertSpec = ctx.spec.certificates[name]!
  const base = c.sameAs ? ctx.spec.certificates[c.sameAs]! : c
  const own = ctx.owners.get(name)!
  const issuerName = c.issuer === 'self' ? name : c.issuer
  const issuerOwner = ctx.owners.get(issuerName)!
  const hash = c.signature ?? 'sha256'
  const ownKey = ctx.keys.get(own.keyName)!
  const issuerKey = ctx.keys.get(issuerOwner.keyName)!
  const publicKey = await subtle.importKey('spki', ownKey.spki, algorithmFor(own.keySpec, 'sha256'), true, ['verify'])
  const issuerPublic = await subtle.importKey(
    'spki',
    issuerKey.spki,
    algorithmFor(issuerOwner.keySpec, 'sha256'),
    true,
    ['verify'],
  )
  const signAlg = algorithmFor(issuerOwner.keySpec, hash)
  const signingKey = await subtle.importKey('pkcs8', issuerKey.pkcs8, signAlg, false, ['sign'])
  const isCA = c.ca ?? base.ca ?? false
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(isCA, isCA ? (c.pathLen ?? base.pathLen) : undefined, true),
    new x509.KeyUsagesExtension(
      isCA
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
  ]
  if (c.ski ?? base.ski ?? true) extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey))
  if ((c.aki ?? true) && c.issuer !== 'self')
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerPublic))
  const sans = [...(c.sans ?? [])]
  if (c.extraSans && sans[0])
    for (let i = 0; i < c.extraSans; i++) sans.push(`san-${i}.${sans[0].replace(/^\*\./, '')}`)
  if (sans.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(sans.map((v) => ({ type: 'dns' as const, value: v }))))
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]))
  }
  if (c.aia && ctx.aiaBase)
    extensions.push(
      new x509.AuthorityInfoAccessExtension({
        caIssuers: new x509.GeneralName('url', `${ctx.aiaBase}/${c.issuer}.cer`),
      }),
    )
  const serial = createHash('sha256').update(`${ctx.spec.name}/${name}`).digest('hex').slice(0, 16)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `01${serial}`,
    subject: subjectOf(ctx.spec, name),
    issuer: subjectOf(ctx.spec, issuerName),
    notBefore: new Date(ctx.now.getTime() + (c.notBeforeDays ?? -1) * DAY),
    notAfter: new Date(ctx.now.getTime() + (c.notAfterDays ?? (isCA ? 3650 : 365)) * DAY),
    publicKey,
    signingKey,
    signingAlgorithm: signAlg,
    extensions,
  })
  return { name, der: Buffer.from(cert.rawData), keyName: own.keyName }
}
