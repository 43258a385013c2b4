/**
 * Just enough DER to index a certificate without parsing it: the issuer and subject names and
 * the SubjectKeyIdentifier, read straight from the TBSCertificate. Start-up indexes ~145 bundled
 * roots this way; a root is parsed in full only when a look-up returns it.
 */

export interface Tlv {
  tag: number
  /** Offset of the value and the offset just past it. */
  start: number
  end: number
}

export function readTlv(der: Uint8Array, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new Error('truncated DER')
  const tag = der[off]!
  let len = der[off + 1]!
  let start = off + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || start + n > limit) throw new Error('unsupported DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!
    start += n
  }
  const end = start + len
  if (end > limit) throw new Error('DER value beyond its container')
  return { tag, start, end }
}

export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let off = parent.start; off < parent.end;) {
    const t = readTlv(der, off, parent.end)
    out.push(t)
    off = t.end
  }
  return out
}

export interface CertIndexFields {
  /** Names in a comparison form: attribute OIDs with case- and space-folded values. */
  issuerKey: string
  subjectKey: string
  /** Lower-case hex, as `CertInfo.ski`. */
  ski: string | null
}

const SKI_OID = '551d0e'

/** Throws on anything it cannot read; callers fall back to a full parse. */
export function indexFields(der: Uint8Array): CertIndexFields {
  const cert = readTlv(der, 0, der.length)
  const tbs = children(der, cert)[0]
  if (!tbs || tbs.tag !== 0x30) throw new Error('no TBSCertificate')
  const parts = children(der, tbs)
  let i = parts[0]?.tag === 0xa0 ? 1 : 0
  i += 2 // serialNumber, signature
  const issuer = parts[i]
  const subject = parts[i + 2]
  if (!issuer || !subject || issuer.tag !== 0x30 || subject.tag !== 0x30) throw new Error('no issuer/subject Name')
  let ski: string | null = null
  const exts = parts.slice(i + 4).find((p) => p.tag === 0xa3)
  if (exts) {
    for (const ext of children(der, children(der, exts)[0]!)) {
      const [oid, ...rest] = children(der, ext)
      if (!oid || hex(der, oid) !== SKI_OID) continue
      const value = rest[rest.length - 1]!
      const inner = readTlv(der, value.start, value.end)
      ski = hex(der, inner)
    }
  }
  return { issuerKey: nameKey(der, issuer), subjectKey: nameKey(der, subject), ski }
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }. */
export function nameKey(der: Uint8Array, name: Tlv): string {
  return children(der, name)
    .map((rdn) =>
      children(der, rdn)
        .map((atv) => {
          const [type, value] = children(der, atv)
          if (!type || !value) throw new Error('bad AttributeTypeAndValue')
          return `${hex(der, type)}=${decodeString(der, value)}`
        })
        .sort()
        .join('+'),
    )
    .join(',')
}

function decodeString(der: Uint8Array, v: Tlv): string {
  const bytes = Buffer.from(der.subarray(v.start, v.end))
  let s: string
  switch (v.tag) {
    case 0x0c:
      s = bytes.toString('utf8')
      break
    case 0x13:
    case 0x16:
    case 0x14:
      s = bytes.toString('latin1')
      break
    case 0x1e:
      s = Buffer.from(bytes).swap16().toString('utf16le')
      break
    default:
      return `#${bytes.toString('hex')}`
  }
  return s.toLowerCase().replace(/\s+/g, ' ').trim()
}

export function hex(der: Uint8Array, t: Tlv): string {
  return Buffer.from(der.subarray(t.start, t.end)).toString('hex')
}
