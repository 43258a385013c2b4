import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls'
import type { Clock } from '../core/clock.js'
import { resolveAddress, type Endpoint, type NameLookup, type ResolveMap } from '../hosts/index.js'
import { captureErrorFrom, type CaptureError } from './capture-error.js'
import { toNodeHello, type HelloProfile } from './hello.js'
import { TapStream } from './tap.js'
import { ServerFlightReader } from './tls-records.js'

export interface CaptureRequest {
  host: string
  port: number
  sni: string | null
  /** --resolve/--connect-to entries, looked up before DNS. */
  resolveMap?: ResolveMap
  /** Where to connect, already resolved by the caller (with resolveAddress); skips the look-up. */
  connect?: Endpoint
  hello: HelloProfile
  timeoutMs: number
  /** Retry with TLS 1.3 when the server refuses every version offered (reconstructed chain). */
  tls13Fallback: boolean
  /** Certificate message size cap in bytes. */
  maxCertificateMessage: number
  /** Name-to-address lookup; the system resolver by default. */
  lookup?: NameLookup
  /** Aborting closes the connection at once (the user stopped the batch). */
  signal?: AbortSignal
}

/**
 * OpenSSL's default max_cert_list, which Node does not let a client raise: a longer Certificate
 * message ends the handshake inside the library. The tap still reads it, so the chain is kept.
 */
export const NODE_MAX_CERT_LIST = 100 * 1024

export type { CaptureError }

export interface CaptureTimings {
  dnsMs: number | null
  connectMs: number | null
  handshakeMs: number | null
  totalMs: number
}

export interface Capture {
  /** The address and port connected to: host:port itself unless --resolve/--connect-to moved it. */
  ip: string | null
  connectPort: number | null
  sni: string | null
  protocol: string | null
  cipher: string | null
  capture: 'wire' | 'reconstructed' | null
  /** DER certificates: as sent ('wire') or as Node rebuilt them ('reconstructed'). */
  certificates: Buffer[]
  timings: CaptureTimings
  error: CaptureError | null
}

/** Connects once with the given hello and returns what the server sent; never throws. */
export async function captureChain(req: CaptureRequest, clock: Clock): Promise<Capture> {
  const first = await captureOnce(req, clock, toNodeHello(req.hello))
  const max = req.hello.versions.includes('TLSv1.3')
  if (req.tls13Fallback && !max && first.error?.code === 'tls-alert:protocol-version') {
    // The server speaks only TLS 1.3: its Certificate message is encrypted, so the best
    // available answer is the chain Node rebuilds, marked as such.
    const retry = await captureOnce(req, clock, {
      ...toNodeHello(req.hello),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: 'DEFAULT',
    })
    if (retry.error === null) return retry
  }
  return first
}

async function captureOnce(req: CaptureRequest, clock: Clock, hello: ReturnType<typeof toNodeHello>): Promise<Capture> {
  return (await connectOnce(req, clock, hello, false)).capture
}

/**
 * Connects, captures the chain as sent, and on success hands over the open TLS socket (the
 * emulator then speaks HTTP over it, as the module does). The caller owns the socket.
 */
export async function connectCapturing(
  req: CaptureRequest,
  clock: Clock,
): Promise<{ capture: Capture; socket: TLSSocket | null }> {
  return await connectOnce(req, clock, toNodeHello(req.hello), true)
}

async function connectOnce(
  req: CaptureRequest,
  clock: Clock,
  hello: ReturnType<typeof toNodeHello>,
  keep: boolean,
): Promise<{ capture: Capture; socket: TLSSocket | null }> {
  const t0 = clock.monotonic()
  const timings: CaptureTimings = { dnsMs: null, connectMs: null, handshakeMs: null, totalMs: 0 }
  const result: Capture = {
    ip: null,
    connectPort: null,
    sni: req.sni,
    protocol: null,
    cipher: null,
    capture: null,
    certificates: [],
    timings,
    error: null,
  }
  const finish = (error: CaptureError | null): { capture: Capture; socket: TLSSocket | null } => {
    result.error = error
    timings.totalMs = round(clock.monotonic() - t0)
    return { capture: result, socket: null }
  }
  const deadline = t0 + req.timeoutMs
  let to: Endpoint
  try {
    to =
      req.connect ??
      (await withTimeout(
        resolveAddress(req.host, req.port, req.resolveMap ?? new Map(), req.lookup),
        req.timeoutMs,
        'dns',
      ))
    result.ip = to.address
    result.connectPort = to.port
    timings.dnsMs = round(clock.monotonic() - t0)
  } catch (err) {
    return finish(
      isTimeout(err)
        ? { code: 'dns', message: `DNS lookup of ${req.host} took longer than ${req.timeoutMs} ms` }
        : captureErrorFrom(err),
    )
  }
  return await new Promise<{ capture: Capture; socket: TLSSocket | null }>((resolve) => {
    let settled = false
    let tcp: Socket | null = null
    let tls: TLSSocket | null = null
    const reader = new ServerFlightReader({ maxCertificateMessage: req.maxCertificateMessage })
    const done = (error: CaptureError | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
      const out = finish(error)
      if (keep && error === null && tls) {
        out.socket = tls
      } else {
        tls?.destroy()
        tcp?.destroy()
      }
      resolve(out)
    }
    const remaining = Math.max(1, deadline - clock.monotonic())
    const timer = setTimeout(() => {
      const phase = timings.connectMs === null ? 'connecting' : 'waiting for the handshake'
      done({ code: 'timeout', message: `no answer after ${req.timeoutMs} ms ${phase}` })
    }, remaining)
    const onAbort = () => done({ code: 'aborted', message: 'stopped by the user' })
    if (req.signal?.aborted) {
      onAbort()
      return
    }
    req.signal?.addEventListener('abort', onAbort, { once: true })
    const connectStart = clock.monotonic()
    tcp = netConnect({ host: to.address, port: to.port })
    tcp.setNoDelay(true)
    tcp.once('error', (err) => done(captureErrorFrom(err)))
    tcp.once('connect', () => {
      timings.connectMs = round(clock.monotonic() - connectStart)
      const hsStart = clock.monotonic()
      let overNode = false
      const tap: TapStream = new TapStream(tcp, (chunk) => {
        reader.push(chunk)
        const s = reader.state
        const announced = reader.certificateMessageLength
        if (!overNode && announced !== null && announced > NODE_MAX_CERT_LIST && s.kind !== 'too-large') {
          // Node would fail here with a bare OpenSSL message; read the rest ourselves instead.
          overNode = true
          tap.detach()
        }
        if (overNode && reader.certificates) {
          result.capture = 'wire'
          result.certificates = reader.certificates
          done(overNodeLimit(announced!, true))
          return
        }
        if (s.kind === 'not-tls') done({ code: 'not-tls', message: s.detail })
        else if (s.kind === 'too-large') done({ code: 'chain-too-large', message: s.detail })
        else if (s.kind === 'malformed') done({ code: 'malformed-handshake', message: s.detail })
      })
      try {
        tls = tlsConnect({
          socket: tap,
          ...(req.sni ? { servername: req.sni } : {}),
          rejectUnauthorized: false,
          ...hello,
        })
      } catch (err) {
        done({ code: 'tls-error', message: `the TLS library refused the hello: ${(err as Error).message}` })
        return
      }
      tls.once('secureConnect', () => {
        timings.handshakeMs = round(clock.monotonic() - hsStart)
        result.protocol = tls!.getProtocol()
        result.cipher = tls!.getCipher()?.standardName ?? null
        if (reader.certificates) {
          result.capture = 'wire'
          result.certificates = reader.certificates
        } else {
          result.capture = 'reconstructed'
          result.certificates = reconstructed(tls!.getPeerCertificate(true))
        }
        done(
          result.certificates.length === 0
            ? { code: 'no-certificate', message: 'the server sent no certificate' }
            : null,
        )
      })
      tls.once('error', (err) => {
        if (overNode) return
        if (reader.alert)
          done({
            code: `tls-alert:${reader.alert.name}`,
            message: `server sent alert ${reader.alert.code} (${reader.alert.name})`,
          })
        else done(captureErrorFrom(err))
      })
      tls.once('close', () => {
        if (!overNode) done({ code: 'closed', message: 'the server closed the connection during the handshake' })
      })
      tcp.once('close', () => {
        if (overNode) done(overNodeLimit(reader.certificateMessageLength!, false))
      })
    })
  })
}

function overNodeLimit(length: number, complete: boolean): CaptureError {
  return {
    code: 'chain-over-node-limit',
    message:
      `Certificate message of ${length} bytes exceeds the ${NODE_MAX_CERT_LIST} bytes Node's TLS library accepts (OpenSSL max_cert_list); ` +
      (complete ? 'the chain was read from the wire' : 'the server closed the connection before it was complete'),
  }
}

function reconstructed(peer: PeerCertificate & { issuerCertificate?: PeerCertificate }): Buffer[] {
  const out: Buffer[] = []
  const seen = new Set<string>()
  let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = peer
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256)
    out.push(cert.raw)
    cert = cert.issuerCertificate
  }
  return out
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

class TimeoutError extends Error {}
function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError
}
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
