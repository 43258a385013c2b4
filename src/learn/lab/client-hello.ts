import { AppError } from '../../core/errors.js'
import {
  CIPHER_SUITE_CODES,
  EXTENSION_NAMES,
  GROUP_CODES,
  SCSV_CODES,
  SIGNATURE_SCHEME_CODES,
  VERSION_CODES,
} from '../../chain/iana.js'

/** What a client offered, read from its ClientHello; names are the IANA spellings of src/chain/iana.ts. */
export interface ClientHelloInfo {
  /** legacy_version as a name: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' (0x0303) … or '0xNNNN' */
  legacyVersion: string
  /** from supported_versions (43), null when absent; unknown and GREASE values skipped */
  supportedVersions: string[] | null
  /** IANA names in order, unknown as '0xC0FF'; the SCSVs are in `scsv`, GREASE is skipped */
  cipherSuites: string[]
  scsv: string[]
  compression: number[]
  /** every extension in order, GREASE included (named 'ext-<type>') */
  extensions: Array<{ type: number; name: string }>
  /** server_name host_name value, null when the extension is absent */
  sni: string | null
  /** supported_groups (10), unknown as '0xNNNN'; [] when absent */
  groups: string[]
  /** signature_algorithms (13) as SignatureScheme names, unknown as '0xNNNN'; [] when absent */
  signatureAlgorithms: string[]
  /** the handshake message bytes (header included) */
  raw: Buffer
}

const CONTENT_HANDSHAKE = 22
const HS_CLIENT_HELLO = 1
/** A ClientHello bigger than this is refused: no module sends one, and it bounds the buffer. */
export const MAX_CLIENT_HELLO = 16 * 1024
const EXT_SERVER_NAME = 0
const EXT_SUPPORTED_GROUPS = 10
const EXT_SIGNATURE_ALGORITHMS = 13
const EXT_SUPPORTED_VERSIONS = 43

function fail(detail: string): never {
  throw new AppError('NOT_A_CLIENT_HELLO', `not a TLS ClientHello: ${detail}`)
}

/** RFC 8701: 0x0A0A, 0x1A1A … 0xFAFA are placeholders that mean nothing. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff)
}

function code(v: number): string {
  return `0x${v.toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * The handshake bytes carried by the leading handshake records, or null when the first handshake
 * message is not complete yet. A hello may be split over several records (RFC 5246 §6.2.1).
 */
function handshakeBytes(bytes: Buffer): Buffer | null {
  const parts: Buffer[] = []
  let have = 0
  let need: number | null = null
  let at = 0
  for (;;) {
    if (bytes.length - at < 5) return null
    const type = bytes[at]!
    if (type !== CONTENT_HANDSHAKE) {
      if (at === 0 && (type & 0x80) !== 0) fail('an SSLv2-format hello')
      fail(`record type ${type}, not a handshake`)
    }
    if (bytes[at + 1] !== 3) fail(`record version ${bytes.readUInt16BE(at + 1).toString(16)}`)
    const len = bytes.readUInt16BE(at + 3)
    if (len === 0 || len > 16384) fail(`record length ${len}`)
    if (bytes.length - at - 5 < len) {
      // Enough of the record for the message header tells what to refuse early.
      const partial = Buffer.concat([...parts, bytes.subarray(at + 5)])
      if (need === null && partial.length >= 4) check(partial)
      return null
    }
    parts.push(bytes.subarray(at + 5, at + 5 + len))
    have += len
    at += 5 + len
    if (need === null && have >= 4) need = 4 + check(Buffer.concat(parts))
    if (need !== null && have >= need) return Buffer.concat(parts).subarray(0, need)
  }
}

/** Validates the handshake header and returns the body length. */
function check(hs: Buffer): number {
  if (hs[0] !== HS_CLIENT_HELLO) fail(`handshake type ${hs[0]}`)
  const len = hs.readUIntBE(1, 3)
  if (len + 4 > MAX_CLIENT_HELLO) fail(`a ClientHello of ${len} bytes (more than ${MAX_CLIENT_HELLO})`)
  return len
}

/** A bounds-checked reader over the hello body: any read past its end is a malformed hello. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
    private readonly end = buf.length,
  ) {}
  get left(): number {
    return this.end - this.at
  }
  take(n: number, what: string): Buffer {
    if (n > this.left) fail(`${what} runs past the end of the hello`)
    const out = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
  u8(what: string): number {
    return this.take(1, what)[0]!
  }
  u16(what: string): number {
    return this.take(2, what).readUInt16BE(0)
  }
  vec8(what: string): Reader {
    return this.sub(this.u8(what), what)
  }
  vec16(what: string): Reader {
    return this.sub(this.u16(what), what)
  }
  private sub(n: number, what: string): Reader {
    const start = this.at
    this.take(n, what)
    return new Reader(this.buf, start, start + n)
  }
  u16list(what: string): number[] {
    if (this.left % 2 !== 0) fail(`${what} has an odd length`)
    const out: number[] = []
    while (this.left > 0) out.push(this.u16(what))
    return out
  }
}

/**
 * Parses a ClientHello from the first bytes a client sent (TLS records). Pure. Returns null
 * until the message is complete; throws AppError('NOT_A_CLIENT_HELLO') on anything else.
 */
export function parseClientHello(bytes: Buffer): ClientHelloInfo | null {
  const hs = handshakeBytes(bytes)
  if (!hs) return null
  const r = new Reader(hs, 4)
  const legacy = r.u16('legacy_version')
  if (legacy >> 8 !== 3) fail(`legacy_version ${code(legacy)}`)
  r.take(32, 'random')
  const session = r.vec8('session_id')
  if (session.left > 32) fail('session_id longer than 32 bytes')
  const suites = r.vec16('cipher_suites').u16list('cipher_suites')
  const methods = r.vec8('compression_methods')
  const compression: number[] = []
  while (methods.left > 0) compression.push(methods.u8('compression_methods'))
  const info: ClientHelloInfo = {
    legacyVersion: VERSION_CODES[legacy] ?? code(legacy),
    supportedVersions: null,
    cipherSuites: [],
    scsv: [],
    compression,
    extensions: [],
    sni: null,
    groups: [],
    signatureAlgorithms: [],
    raw: Buffer.from(hs),
  }
  for (const s of suites) {
    if (SCSV_CODES[s]) info.scsv.push(SCSV_CODES[s])
    else if (!isGrease(s)) info.cipherSuites.push(CIPHER_SUITE_CODES[s] ?? code(s))
  }
  if (r.left === 0) return info
  const exts = r.vec16('extensions')
  if (r.left !== 0) fail('bytes after the extensions')
  while (exts.left > 0) {
    const type = exts.u16('extension type')
    const body = exts.vec16(`extension ${type}`)
    info.extensions.push({ type, name: EXTENSION_NAMES[type] ?? `ext-${type}` })
    if (type === EXT_SERVER_NAME) info.sni = serverName(body)
    else if (type === EXT_SUPPORTED_GROUPS)
      info.groups = body
        .vec16('supported_groups')
        .u16list('supported_groups')
        .filter((g) => !isGrease(g))
        .map((g) => GROUP_CODES[g] ?? code(g))
    else if (type === EXT_SIGNATURE_ALGORITHMS)
      info.signatureAlgorithms = body
        .vec16('signature_algorithms')
        .u16list('signature_algorithms')
        .filter((g) => !isGrease(g))
        .map((g) => SIGNATURE_SCHEME_CODES[g] ?? code(g))
    else if (type === EXT_SUPPORTED_VERSIONS)
      info.supportedVersions = body
        .vec8('supported_versions')
        .u16list('supported_versions')
        .map((v) => VERSION_CODES[v])
        .filter((v): v is string => v !== undefined)
  }
  return info
}

/** The host_name entry of server_name (RFC 6066 §3); null when the list has none. */
function serverName(body: Reader): string | null {
  // A server_name extension may be empty (a server's echo); a client's carries a list.
  if (body.left === 0) return null
  const list = body.vec16('server_name_list')
  while (list.left > 0) {
    const type = list.u8('server_name type')
    const name = list.vec16('host_name')
    if (type === 0) return name.take(name.left, 'host_name').toString('latin1')
  }
  return null
}
