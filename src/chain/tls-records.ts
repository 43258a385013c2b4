import { alertName } from './tls-alerts.js'

const CONTENT_CHANGE_CIPHER_SPEC = 20
const CONTENT_ALERT = 21
const CONTENT_HANDSHAKE = 22
const CONTENT_APPLICATION_DATA = 23
const HS_SERVER_HELLO = 2
const HS_CERTIFICATE = 11
const HS_SERVER_HELLO_DONE = 14
const EXT_SUPPORTED_VERSIONS = 43
/** RFC 5246 §6.2.3: a ciphertext record is at most 2^14 + 2048 bytes. */
const MAX_RECORD = 16384 + 2048

export interface ServerFlightLimits {
  /** Largest Certificate handshake message accepted (bytes); larger is reported, not buffered. */
  maxCertificateMessage: number
}

export type FlightState =
  | { kind: 'reading' }
  | { kind: 'done' }
  | { kind: 'not-tls'; detail: string }
  | { kind: 'malformed'; detail: string }
  | { kind: 'too-large'; detail: string }

/**
 * Reads the server's side of a TLS handshake as it arrives, byte chunk by byte chunk, and keeps
 * what an observer can see in the clear: the ServerHello version, the Certificate message exactly
 * as sent (TLS 1.2 and below) and any alert. Pure: it never touches a socket.
 */
export class ServerFlightReader {
  state: FlightState = { kind: 'reading' }
  /** DER certificates in the order the server sent them, or null before the Certificate message. */
  certificates: Buffer[] | null = null
  /** Version chosen in ServerHello, e.g. 0x0303; 0x0304 when supported_versions selected TLS 1.3. */
  serverVersion: number | null = null
  alert: { level: number; code: number; name: string } | null = null
  /** Body length announced by the Certificate message header, as soon as the header arrives. */
  certificateMessageLength: number | null = null
  private pending: Buffer = Buffer.alloc(0)
  private handshake: Buffer = Buffer.alloc(0)

  constructor(private readonly limits: ServerFlightLimits) {}

  /** True once nothing more needs to be buffered. */
  get finished(): boolean {
    return this.state.kind !== 'reading'
  }

  push(chunk: Buffer): void {
    if (this.finished) return
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    while (!this.finished && this.pending.length >= 5) {
      const type = this.pending[0]!
      const major = this.pending[1]!
      const length = this.pending.readUInt16BE(3)
      if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_APPLICATION_DATA || major !== 3) {
        this.state = {
          kind: 'not-tls',
          detail: `first bytes ${this.pending.subarray(0, 5).toString('hex')} are not a TLS record`,
        }
        return
      }
      if (length > MAX_RECORD) {
        this.state = { kind: 'malformed', detail: `record of ${length} bytes exceeds the TLS limit` }
        return
      }
      if (this.pending.length < 5 + length) return
      const fragment = this.pending.subarray(5, 5 + length)
      this.pending = this.pending.subarray(5 + length)
      this.onRecord(type, fragment)
    }
  }

  private onRecord(type: number, fragment: Buffer): void {
    if (type === CONTENT_ALERT) {
      if (fragment.length >= 2) this.alert = { level: fragment[0]!, code: fragment[1]!, name: alertName(fragment[1]!) }
      this.state = { kind: 'done' }
    } else if (type === CONTENT_HANDSHAKE) {
      this.handshake = this.handshake.length === 0 ? Buffer.from(fragment) : Buffer.concat([this.handshake, fragment])
      this.readHandshakeMessages()
    } else {
      // ChangeCipherSpec or application data: whatever follows is encrypted.
      this.state = { kind: 'done' }
    }
  }

  private readHandshakeMessages(): void {
    while (!this.finished && this.handshake.length >= 4) {
      const msgType = this.handshake[0]!
      const length = this.handshake.readUIntBE(1, 3)
      if (msgType === HS_CERTIFICATE) this.certificateMessageLength = length
      if (msgType === HS_CERTIFICATE && length > this.limits.maxCertificateMessage) {
        this.state = {
          kind: 'too-large',
          detail: `Certificate message of ${length} bytes exceeds ${this.limits.maxCertificateMessage} bytes (tlsmatrix's cap)`,
        }
        return
      }
      if (length > Math.max(this.limits.maxCertificateMessage, 65536)) {
        this.state = { kind: 'malformed', detail: `handshake message type ${msgType} of ${length} bytes` }
        return
      }
      if (this.handshake.length < 4 + length) return
      const body = this.handshake.subarray(4, 4 + length)
      this.handshake = this.handshake.subarray(4 + length)
      this.onHandshakeMessage(msgType, body)
    }
  }

  private onHandshakeMessage(msgType: number, body: Buffer): void {
    if (msgType === HS_SERVER_HELLO) {
      this.serverVersion = readServerHelloVersion(body)
      // TLS 1.3 encrypts everything after ServerHello; nothing more to see.
      if (this.serverVersion === 0x0304) this.state = { kind: 'done' }
    } else if (msgType === HS_CERTIFICATE) {
      const certs = readCertificateList(body)
      if (typeof certs === 'string') this.state = { kind: 'malformed', detail: certs }
      else this.certificates = certs
    } else if (msgType === HS_SERVER_HELLO_DONE) {
      this.state = { kind: 'done' }
    }
  }
}

function readServerHelloVersion(body: Buffer): number | null {
  if (body.length < 38) return null
  let version = body.readUInt16BE(0)
  let off = 2 + 32
  const sidLen = body[off]!
  off += 1 + sidLen + 2 + 1
  if (off + 2 > body.length) return version
  const extEnd = Math.min(body.length, off + 2 + body.readUInt16BE(off))
  off += 2
  while (off + 4 <= extEnd) {
    const type = body.readUInt16BE(off)
    const len = body.readUInt16BE(off + 2)
    if (type === EXT_SUPPORTED_VERSIONS && len === 2 && off + 6 <= extEnd) version = body.readUInt16BE(off + 4)
    off += 4 + len
  }
  return version
}

/** RFC 5246 §7.4.2: opaque ASN.1Cert<1..2^24-1>; certificate_list<0..2^24-1>. */
export function readCertificateList(body: Buffer): Buffer[] | string {
  if (body.length < 3) return 'Certificate message shorter than its length field'
  const total = body.readUIntBE(0, 3)
  if (total + 3 !== body.length)
    return `certificate_list length ${total} does not match message length ${body.length - 3}`
  const certs: Buffer[] = []
  let off = 3
  while (off < body.length) {
    if (off + 3 > body.length) return 'truncated certificate length'
    const len = body.readUIntBE(off, 3)
    off += 3
    if (len === 0 || off + len > body.length) return `certificate ${certs.length} has length ${len} beyond the message`
    certs.push(Buffer.from(body.subarray(off, off + len)))
    off += len
  }
  return certs
}
