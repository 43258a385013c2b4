/**
 * A PKI big enough for a 10,000-target report: roots, intermediates and one leaf per target, as
 * real signed DER. @peculiar/x509 takes ~10 ms per certificate (10,000 leaves: minutes), so the
 * certificates are encoded here with a minimal DER writer and signed with node:crypto (well under
 * a millisecond each). Only what a server certificate needs: v3, SKI/AKI, SAN, key usage.
 */
import { createHash, generateKeyPair, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'

const generateKeyPairAsync = promisify(generateKeyPair)
const DAY = 86_400_000

export type BenchKeySpec = 'rsa-2048' | 'rsa-4096' | 'ec-p256' | 'ec-p384'

export interface BenchKey {
  spec: BenchKeySpec
  privateKey: KeyObject
  spki: Buffer
  /** SHA-1 of the SubjectPublicKeyInfo: the key id its certificates carry (SKI) and point to (AKI). */
  keyId: Buffer
}

export interface BenchCa {
  name: string
  dn: Array<[string, string]>
  key: BenchKey
  der: Buffer
}

// --- DER writer -------------------------------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), len(content.length), content])
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts))
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts))
const octets = (b: Buffer) => tlv(0x04, b)
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]))
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content)
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]))
const NULL = Buffer.from([0x05, 0x00])

function int(b: Buffer): Buffer {
  let v = b
  while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1)
  return tlv(0x02, v[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]]
  const out = [a * 40 + b]
  for (const n of rest) {
    const chunk = [n & 0x7f]
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`))
}

const ATTRS: Record<string, string> = { C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' }

/** RDNs in encoding order (country first, common name last), as most CAs write them. */
function name(dn: Array<[string, string]>): Buffer {
  return seq(
    ...dn.map(([k, v]) =>
      set(seq(oid(ATTRS[k]!), k === 'C' ? tlv(0x13, Buffer.from(v)) : tlv(0x0c, Buffer.from(v, 'utf8')))),
    ),
  )
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value))
}

function signatureAlgorithm(issuer: BenchKeySpec): { der: Buffer; hash: string } {
  if (issuer === 'ec-p384') return { der: seq(oid('1.2.840.10045.4.3.3')), hash: 'sha384' }
  if (issuer === 'ec-p256') return { der: seq(oid('1.2.840.10045.4.3.2')), hash: 'sha256' }
  return { der: seq(oid('1.2.840.113549.1.1.11'), NULL), hash: 'sha256' }
}

// --- keys and certificates -------------------------------------------------------------------

function keyOf(spec: BenchKeySpec, privateKey: KeyObject, publicKey: KeyObject): BenchKey {
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  return { spec, privateKey, spki, keyId: createHash('sha1').update(spki).digest() }
}

export async function benchKey(spec: BenchKeySpec): Promise<BenchKey> {
  const pair = spec.startsWith('rsa')
    ? await generateKeyPairAsync('rsa', { modulusLength: Number(spec.slice(4)), publicExponent: 65537 })
    : await generateKeyPairAsync('ec', { namedCurve: spec === 'ec-p384' ? 'P-384' : 'P-256' })
  return keyOf(spec, pair.privateKey, pair.publicKey)
}

/** A fresh P-256 leaf key, synchronously: 10,000 of them take about a second. */
export function ecLeafKey(): BenchKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return keyOf('ec-p256', pair.privateKey, pair.publicKey)
}

export interface IssueOptions {
  /** Distinct per certificate: the serial number is derived from it. */
  id: string
  subject: Array<[string, string]>
  key: BenchKey
  /** null: self-signed. */
  issuer: BenchCa | null
  ca: boolean
  notBefore: Date
  notAfter: Date
  sans?: string[]
}

export function issue(o: IssueOptions): Buffer {
  const signer = o.issuer?.key ?? o.key
  const alg = signatureAlgorithm(signer.spec)
  const serial = createHash('sha256').update(o.id).digest().subarray(0, 12)
  serial[0] = (serial[0]! & 0x7f) | 0x01
  const exts: Buffer[] = [
    extension('2.5.29.19', true, o.ca ? seq(bool(true)) : seq()),
    // keyCertSign + cRLSign for a CA; digitalSignature (+ keyEncipherment for RSA) for a server.
    extension(
      '2.5.29.15',
      true,
      o.ca
        ? bits(Buffer.from([0x06]), 1)
        : o.key.spec.startsWith('rsa')
          ? bits(Buffer.from([0xa0]), 5)
          : bits(Buffer.from([0x80]), 7),
    ),
    extension('2.5.29.14', false, octets(o.key.keyId)),
  ]
  if (o.issuer) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, o.issuer.key.keyId))))
  if (o.sans?.length) {
    exts.push(extension('2.5.29.17', false, seq(...o.sans.map((s) => tlv(0x82, Buffer.from(s))))))
    exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))))
  }
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(serial),
    alg.der,
    name(o.issuer?.dn ?? o.subject),
    seq(time(o.notBefore), time(o.notAfter)),
    name(o.subject),
    o.key.spki,
    explicit(3, seq(...exts)),
  )
  return seq(tbs, alg.der, bits(sign(alg.hash, tbs, signer.privateKey)))
}

export function daysFrom(now: Date, days: number): Date {
  return new Date(now.getTime() + days * DAY)
}
