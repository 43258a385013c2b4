import { connect as netConnect, isIP, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { connectCapturing, type CertCache, type ParsedCert } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { resolveAddress, type Endpoint, type ResolveMap } from '../hosts/index.js'
import { connectFailureClass } from '../predict/index.js'
import { helloOf, type FailureClass, type FirmwareProfile } from '../profile/profile.js'

/** What the module's network stack saw: a connection with the served chain, or why not. */
export type ModuleConnection =
  | {
      ok: true
      socket: Socket | TLSSocket
      served: ParsedCert[]
      protocol: string | null
      cipher: string | null
      handshakeMs: number
    }
  | { ok: false; class: FailureClass; reason: string }

export interface NetOptions {
  resolveMap: ResolveMap
  /** Names not in resolveMap fail as the module's DNS failure instead of asking the system. */
  dnsOff: boolean
  clock: Clock
  timeoutMs: number
  cache: CertCache
  /** Each connection made, so that the module can close it when it powers off (given by the module). */
  track?: (socket: Socket | TLSSocket) => void
}

/**
 * Opens a connection the way the profile's module would: its TLS versions, suites, groups,
 * signature algorithms and SNI, no more. The served chain is captured as sent for judging.
 */
export async function moduleConnect(
  host: string,
  port: number,
  tls: boolean,
  profile: FirmwareProfile,
  opts: NetOptions,
): Promise<ModuleConnection> {
  // The module is asked for host:port; --connect-to may send the connection elsewhere, while the
  // name (SNI, Host header, certificate check) stays host.
  let to: Endpoint
  try {
    to = await resolveAddress(host, port, opts.resolveMap, opts.dnsOff ? dnsIsOff : undefined)
  } catch (err) {
    return { ok: false, class: 'dns', reason: (err as Error).message }
  }
  if (!tls) {
    const plain = await plainConnect(to, opts.timeoutMs)
    if (plain.ok) opts.track?.(plain.socket)
    return plain
  }
  const t = profile.tls
  const { capture, socket } = await connectCapturing(
    {
      host,
      port,
      sni: t.sni && !isIP(host) ? host : null,
      connect: to,
      hello: helloOf(profile),
      timeoutMs: opts.timeoutMs,
      tls13Fallback: false,
      maxCertificateMessage: 256 * 1024,
    },
    opts.clock,
  )
  if (socket) opts.track?.(socket)
  if (capture.error || !socket) {
    const code = capture.error?.code ?? 'tls-error'
    const cls: FailureClass = connectFailureClass(code) ?? 'handshake'
    return { ok: false, class: cls, reason: `${code}: ${capture.error?.message ?? ''}` }
  }
  try {
    return {
      ok: true,
      socket,
      served: capture.certificates.map((d) => opts.cache.parse(d)),
      protocol: capture.protocol,
      cipher: capture.cipher,
      handshakeMs: (capture.timings.connectMs ?? 0) + (capture.timings.handshakeMs ?? 0),
    }
  } catch (err) {
    socket.destroy()
    return { ok: false, class: 'handshake', reason: `malformed certificate: ${(err as Error).message}` }
  }
}

const dnsIsOff = (host: string): Promise<string> =>
  Promise.reject(new Error(`${host} is not in the emulator's --resolve/--connect-to map and DNS is off`))

async function plainConnect(to: Endpoint, timeoutMs: number): Promise<ModuleConnection> {
  return await new Promise((resolve) => {
    const s = netConnect({ host: to.address, port: to.port })
    const timer = setTimeout(() => {
      s.destroy()
      resolve({ ok: false, class: 'timeout', reason: 'connect timeout' })
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(timer)
      resolve({ ok: true, socket: s, served: [], protocol: null, cipher: null, handshakeMs: 0 })
    })
    s.once('error', (err) => {
      clearTimeout(timer)
      resolve({ ok: false, class: 'connect', reason: err.message })
    })
  })
}

export interface HttpResult {
  status: number
  /** Raw body as received: chunked coding is not removed, as on the module (reference §6). */
  body: Buffer
}

/** One HTTP/1.1 GET over an open connection; bounded in size and time. */
export async function httpGet(
  socket: Socket | TLSSocket,
  host: string,
  path: string,
  timeoutMs: number,
  maxBody: number,
): Promise<HttpResult | { error: FailureClass; reason: string }> {
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => finish(), timeoutMs)
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const all = Buffer.concat(chunks)
      const head = all.indexOf('\r\n\r\n')
      const status = Number(
        /^HTTP\/1\.[01] (\d{3})/.exec(all.subarray(0, Math.max(0, head)).toString('latin1'))?.[1] ?? NaN,
      )
      if (head < 0 || !Number.isFinite(status))
        resolve({ error: size === 0 ? 'timeout' : 'http', reason: `no HTTP response (${size} bytes)` })
      else resolve({ status, body: all.subarray(head + 4, head + 4 + maxBody) })
    }
    socket.on('data', (d: Buffer) => {
      size += d.length
      if (size <= maxBody + 16 * 1024) chunks.push(d)
      else finish()
    })
    socket.on('end', finish)
    socket.on('error', finish)
    // Closed under it (the module powered off): nothing more comes, and no timer may keep the process up.
    socket.on('close', finish)
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tlsmatrix-emulator\r\nConnection: close\r\n\r\n`)
  })
}
