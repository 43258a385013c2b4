import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls'
import { AppError, isAppError } from '../../core/errors.js'
import { CIPHER_SUITES, TLS_VERSIONS, type TlsVersion } from '../../chain/iana.js'
import { toPem } from '../../chain/pem.js'
import { listen } from '../../lab/servers.js'
import { MAX_CLIENT_HELLO, parseClientHello, type ClientHelloInfo } from './client-hello.js'
import type { KeyMaterial } from '../../lab/pki.js'

export type ProbeServe =
  | {
      kind: 'tls'
      chain: Buffer[]
      key: KeyMaterial
      versions?: TlsVersion[]
      cipherSuites?: string[]
      /** when set, a ClientHello WITHOUT SNI gets this chain instead (an SNI probe) */
      noSni?: { chain: Buffer[]; key: KeyMaterial }
    }
  /** read the ClientHello, answer a fatal handshake_failure alert, close */
  | { kind: 'capture' }
  /** accept, read and discard, never answer (closed by close()) */
  | { kind: 'stall' }

export interface ServedConnection {
  hello: ClientHelloInfo | null
  /** server side: the handshake completed, with what */
  completed: boolean
  /** 'TLSv1' … 'TLSv1.3' */
  protocol: string | null
  /** IANA name (Node's getCipher().standardName) */
  cipher: string | null
  servername: string | null
  /** first request line and Host header seen over TLS (`GET / HTTP/1.1 Host: x`), null when none */
  request: string | null
}

export interface ProbeServer {
  port: number
  address: string
  /** from the next connection on, serve this (connections already open keep theirs) */
  serve(p: ProbeServe): void
  /** connections seen since the last serve(), in arrival order */
  connections(): ServedConnection[]
  close(): Promise<void>
}

// SECLEVEL=0: the probes must offer what a module takes (TLS 1.0, SHA-1, RSA-1024), not what
// OpenSSL's defaults allow.
// Node takes TLS 1.3 suites (TLS_*) in the same string, and a string naming none disables them.
const BROAD_CIPHERS =
  'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ALL:!aNULL:!eNULL:@SECLEVEL=0'
const TLS13 = new Set([
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
])
/** Alert(fatal, handshake_failure) in a TLS 1.0 record: every client version reads it. */
const HANDSHAKE_FAILURE = Buffer.from([21, 3, 1, 0, 2, 2, 40])
/** Records and their headers around a hello of the largest accepted size. */
const MAX_BUFFERED = MAX_CLIENT_HELLO + 5 * 8

interface Prepared {
  serve: ProbeServe
  context: SecureContext | null
  noSni: SecureContext | null
}

function contextFor(p: Extract<ProbeServe, { kind: 'tls' }>, chain: Buffer[], key: KeyMaterial): SecureContext {
  const versions = p.versions ?? ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
  if (versions.length === 0) throw new AppError('USAGE', 'a probe serves no TLS version')
  const idx = versions.map((v) => {
    const i = TLS_VERSIONS.indexOf(v)
    if (i < 0) throw new AppError('USAGE', `unknown TLS version "${v}"`)
    return i
  })
  const options: Parameters<typeof createSecureContext>[0] = {
    minVersion: TLS_VERSIONS[Math.min(...idx)]!,
    maxVersion: TLS_VERSIONS[Math.max(...idx)]!,
    ciphers: BROAD_CIPHERS,
    cert: chain.map((d) => toPem(d)).join(''),
    key: toPem(key.pkcs8, 'PRIVATE KEY'),
  }
  if (p.cipherSuites) {
    const legacy: string[] = []
    const modern: string[] = []
    for (const s of p.cipherSuites) {
      if (TLS13.has(s)) modern.push(s)
      else if (CIPHER_SUITES[s]) legacy.push(CIPHER_SUITES[s])
      else
        throw new AppError('USAGE', `unknown cipher suite "${s}" (use IANA names such as TLS_RSA_WITH_AES_128_CBC_SHA)`)
    }
    // An empty TLS 1.2 list is refused by OpenSSL; a suite that needs a PSK never matches a
    // certificate handshake, so it stands for "none". TLS 1.3 suites: exactly those listed.
    options.ciphers = [...modern, ...(legacy.length ? legacy : ['PSK-AES128-CBC-SHA']), '@SECLEVEL=0'].join(':')
  }
  try {
    return createSecureContext(options)
  } catch (err) {
    throw new AppError(
      'USAGE',
      `the TLS library refuses this probe (${JSON.stringify({ ...options, cert: '…', key: '…' })}): ${(err as Error).message}`,
    )
  }
}

function prepare(p: ProbeServe): Prepared {
  if (p.kind !== 'tls') return { serve: p, context: null, noSni: null }
  return {
    serve: p,
    context: contextFor(p, p.chain, p.key),
    noSni: p.noSni ? contextFor(p, p.noSni.chain, p.noSni.key) : null,
  }
}

function respond(req: IncomingMessage, res: ServerResponse): void {
  // /status/NNN answers with that status, as the lab servers do.
  const status = Number(/^\/status\/([1-5]\d\d)$/.exec(req.url ?? '')?.[1] ?? 200)
  const body = `tlsmatrix learn probe: ${req.headers.host ?? '(no host)'} ${req.url ?? ''}\n`
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
}

/**
 * The one listener every `learn` probe is served on. A plain TCP front reads each connection's
 * ClientHello (so what the module offered is known even when the handshake fails), then the
 * probe in force at accept time decides: answer TLS with its chain, refuse, or stall.
 */
export async function startProbeServer(opts: { address: string; port?: number }): Promise<ProbeServer> {
  let current = prepare({ kind: 'capture' })
  let seen: ServedConnection[] = []
  const sockets = new Set<Socket>()
  const records = new WeakMap<Socket, ServedConnection>()
  const http = createHttpServer({ keepAliveTimeout: 1000 }, (req, res) => {
    const record = records.get(req.socket)
    if (record && record.request === null)
      record.request = `${req.method} ${req.url} HTTP/${req.httpVersion}${req.headers.host !== undefined ? ` Host: ${req.headers.host}` : ''}`
    respond(req, res)
  })
  const track = (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
  }

  const startTls = (socket: Socket, prepared: Prepared, record: ServedConnection, hello: ClientHelloInfo) => {
    const context = hello.sni === null && prepared.noSni ? prepared.noSni : prepared.context!
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context })
    track(tls)
    records.set(tls, record)
    tls.on('secure', () => {
      record.completed = true
      record.protocol = tls.getProtocol()
      record.cipher = tls.getCipher()?.standardName ?? null
      record.servername = (tls as TLSSocket & { servername?: string | false }).servername || hello.sni
      http.emit('connection', tls)
    })
  }

  const net = createNetServer((socket) => {
    track(socket)
    const prepared = current
    const record: ServedConnection = {
      hello: null,
      completed: false,
      protocol: null,
      cipher: null,
      servername: null,
      request: null,
    }
    seen.push(record)
    let buffered = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      if (prepared.serve.kind === 'stall' && record.hello) return
      buffered = Buffer.concat([buffered, chunk])
      let hello: ClientHelloInfo | null = null
      try {
        hello = parseClientHello(buffered)
      } catch (err) {
        if (!isAppError(err, 'NOT_A_CLIENT_HELLO')) throw err
        if (prepared.serve.kind !== 'stall') socket.destroy()
        else socket.off('data', onData).resume()
        return
      }
      if (!hello) {
        if (buffered.length <= MAX_BUFFERED) return
        // A stalled connection is never answered, not even by closing it.
        if (prepared.serve.kind === 'stall') socket.off('data', onData).resume()
        else socket.destroy()
        return
      }
      record.hello = hello
      record.servername = hello.sni
      switch (prepared.serve.kind) {
        case 'stall':
          buffered = Buffer.alloc(0)
          return
        case 'capture':
          socket.off('data', onData)
          socket.end(HANDSHAKE_FAILURE)
          return
        case 'tls':
          socket.off('data', onData)
          socket.pause()
          // The TLS socket reads what is buffered on the socket first: the hello goes back there.
          socket.unshift(buffered)
          startTls(socket, prepared, record, hello)
      }
    }
    socket.on('data', onData)
  })
  const port = await listen(net, opts.port ?? 0, opts.address)

  return {
    port,
    address: opts.address,
    serve(p) {
      current = prepare(p)
      seen = []
    },
    connections: () => seen.map((c) => ({ ...c })),
    close: async () => {
      const closed = new Promise<void>((resolve) => net.close(() => resolve()))
      for (const s of sockets) s.destroy()
      http.closeAllConnections()
      await closed
    },
  }
}

/** A port on `address` that nothing listens on (bind, read the port, close): the "closed port" probe. */
export async function closedPort(address: string): Promise<number> {
  const server = createNetServer()
  const port = await listen(server, 0, address)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
