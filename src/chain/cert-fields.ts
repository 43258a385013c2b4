import { children, hex, readTlv, type Tlv } from './der-names.js'

/**
 * The printable fields of an ordinary certificate read straight from its DER, exactly as
 * @peculiar/x509 formats them, so a run need not load that library (a third of a second of
 * start-up) for the certificates it meets. Anything out of the ordinary (an unusual string type,
 * SAN type, signature algorithm or time format) throws `Unusual`, and the caller uses the
 * library instead: same output, just slower.
 */
export interface FastFields {
  subject: string
  issuer: string
  serial: string
  ski: string | null
  aki: string | null
  /** WebCrypto names, as @peculiar/x509 reports them. */
  signatureAlgorithm: { name: string; hash: string }
  notBefore: Date
  notAfter: Date
  sans: string[]
  caIssuers: string[]
  isCA: boolean
}

export class Unusual extends Error {}

const NAMES: Record<string, string> = {
  '550403': 'CN',
  '550407': 'L',
  '550408': 'ST',
  '55040a': 'O',
  '55040b': 'OU',
  '550406': 'C',
  '0992268993f22c640119': 'DC',
  '2a864886f70d010901': 'E',
  '55042a': 'G',
  '55042b': 'I',
  '550404': 'SN',
  '55040c': 'T',
}

const SIGNATURES: Record<string, { name: string; hash: string }> = {
  '2a864886f70d010105': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' },
  '2a864886f70d01010b': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  '2a864886f70d01010c': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  '2a864886f70d01010d': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  '2a8648ce3d0401': { name: 'ECDSA', hash: 'SHA-1' },
  '2a8648ce3d040302': { name: 'ECDSA', hash: 'SHA-256' },
  '2a8648ce3d040303': { name: 'ECDSA', hash: 'SHA-384' },
  '2a8648ce3d040304': { name: 'ECDSA', hash: 'SHA-512' },
}

const EXT_SKI = '551d0e'
const EXT_AKI = '551d23'
const EXT_SAN = '551d11'
const EXT_BC = '551d13'
const EXT_AIA = '2b06010505070101'
const CA_ISSUERS = '2b06010505073002'
const utf8 = new TextDecoder('utf-8', { fatal: true })

export function fastFields(der: Uint8Array): FastFields {
  try {
    return read(der)
  } catch (err) {
    throw err instanceof Unusual ? err : new Unusual((err as Error).message)
  }
}

function read(der: Uint8Array): FastFields {
  const cert = readTlv(der, 0, der.length)
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new Unusual('not one DER SEQUENCE')
  const [tbs, sigAlg] = children(der, cert)
  if (!tbs || !sigAlg) throw new Unusual('no TBSCertificate')
  const parts = children(der, tbs)
  let i = parts[0]?.tag === 0xa0 ? 1 : 0
  const serial = parts[i]!
  const issuer = parts[i + 2]!
  const validity = parts[i + 3]!
  const subject = parts[i + 4]!
  if (serial.tag !== 0x02 || issuer.tag !== 0x30 || subject.tag !== 0x30 || validity.tag !== 0x30)
    throw new Unusual('unexpected TBSCertificate layout')
  i += 6
  const algOid = children(der, sigAlg)[0]
  const signatureAlgorithm = algOid && algOid.tag === 0x06 ? SIGNATURES[hex(der, algOid)] : undefined
  if (!signatureAlgorithm) throw new Unusual('signature algorithm')
  const [nb, na] = children(der, validity)
  const out: FastFields = {
    subject: nameText(der, subject),
    issuer: nameText(der, issuer),
    serial: serialHex(der.subarray(serial.start, serial.end)),
    ski: null,
    aki: null,
    signatureAlgorithm,
    notBefore: time(der, nb),
    notAfter: time(der, na),
    sans: [],
    caIssuers: [],
    isCA: false,
  }
  const exts = parts.slice(i).find((p) => p.tag === 0xa3)
  const seen = new Set<string>()
  if (exts) {
    for (const ext of children(der, children(der, exts)[0]!)) {
      const fields = children(der, ext)
      const oid = hex(der, fields[0]!)
      const value = fields[fields.length - 1]!
      if (value.tag !== 0x04) throw new Unusual('extension value')
      // The library reports the first of repeated extensions; so do we.
      if (seen.has(oid)) continue
      seen.add(oid)
      const inner = readTlv(der, value.start, value.end)
      if (oid === EXT_SKI) out.ski = hex(der, inner)
      else if (oid === EXT_AKI) out.aki = akiKeyId(der, inner)
      else if (oid === EXT_SAN) out.sans = children(der, inner).map((g) => generalName(der, g))
      else if (oid === EXT_BC)
        out.isCA = children(der, inner)[0]?.tag === 0x01 && der[children(der, inner)[0]!.start] !== 0
      else if (oid === EXT_AIA) out.caIssuers = caIssuers(der, inner)
    }
  }
  return out
}

function akiKeyId(der: Uint8Array, seq: Tlv): string | null {
  const id = children(der, seq).find((c) => c.tag === 0x80)
  return id ? hex(der, id) : null
}

function generalName(der: Uint8Array, g: Tlv): string {
  const type = g.tag === 0x82 ? 'dns' : g.tag === 0x81 ? 'email' : g.tag === 0x86 ? 'url' : null
  if (!type) throw new Unusual(`GeneralName tag ${g.tag}`)
  return `${type}:${ascii(der.subarray(g.start, g.end))}`
}

function caIssuers(der: Uint8Array, seq: Tlv): string[] {
  const out: string[] = []
  for (const ad of children(der, seq)) {
    const [method, location] = children(der, ad)
    if (!method || !location) throw new Unusual('AccessDescription')
    if (hex(der, method) !== CA_ISSUERS) continue
    if (location.tag !== 0x86) throw new Unusual('caIssuers location type')
    out.push(ascii(der.subarray(location.start, location.end)))
  }
  return out
}

function ascii(bytes: Uint8Array): string {
  for (const b of bytes) if (b > 0x7e || b < 0x20) throw new Unusual('non-printable IA5 text')
  return Buffer.from(bytes).toString('latin1')
}

/** @peculiar/x509's Name.toString(): RDNs in encoded order, ", " between, "+" inside. */
function nameText(der: Uint8Array, name: Tlv): string {
  return children(der, name)
    .map((rdn) =>
      children(der, rdn)
        .map((atv) => {
          const [type, value] = children(der, atv)
          if (!type || !value || type.tag !== 0x06) throw new Unusual('AttributeTypeAndValue')
          const oid = hex(der, type)
          return `${NAMES[oid] ?? dottedOid(der.subarray(type.start, type.end))}=${escape(directoryString(der, value))}`
        })
        .join('+'),
    )
    .join(', ')
}

function directoryString(der: Uint8Array, v: Tlv): string {
  const bytes = der.subarray(v.start, v.end)
  if (v.tag === 0x13 || v.tag === 0x16) return ascii(bytes)
  if (v.tag === 0x0c) {
    const text = utf8.decode(bytes)
    if (text.length === 0) throw new Unusual('empty UTF8String')
    return text
  }
  throw new Unusual(`string type ${v.tag}`)
}

function escape(data: string): string {
  return data
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${Buffer.from(c, 'utf8').toString('hex').toUpperCase()}`)
}

function dottedOid(b: Uint8Array): string {
  if (b.length === 0) throw new Unusual('empty OID')
  const parts: number[] = []
  let n = 0
  for (const byte of b) {
    n = n * 128 + (byte & 0x7f)
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new Unusual('OID arc too large')
    if (!(byte & 0x80)) {
      parts.push(n)
      n = 0
    }
  }
  const first = parts.shift()!
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
  return [...head, ...parts].join('.')
}

function serialHex(raw: Uint8Array): string {
  const b = raw.length > 1 && raw[0] === 0x00 && raw[1]! > 0x7f ? raw.subarray(1) : raw
  return Buffer.from(b).toString('hex')
}

function time(der: Uint8Array, t: Tlv | undefined): Date {
  if (!t) throw new Unusual('no validity time')
  const s = Buffer.from(der.subarray(t.start, t.end)).toString('latin1')
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null
  if (!m) throw new Unusual(`time "${s}"`)
  let year = Number(m[1])
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])))
}
