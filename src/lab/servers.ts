import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import { AppError } from '../core/errors.js'
import { toNodeHello } from '../chain/hello.js'
import { toPem } from '../chain/pem.js'
import type { LabPki } from './cache.js'
import type { Behaviour, HostSpec, LabSpec } from './spec.js'

export interface Listening {
  server: Server | HttpServer
  port: number
}

export async function listen(server: Server | HttpServer, port: number, host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      reject(
        err.code === 'EADDRINUSE'
          ? new AppError('LAB_PORT_IN_USE', `port ${port} on ${host} is in use`, { cause: err })
          : err,
      )
    }
    const onListening = () => {
      server.off('error', onError)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr ? addr.port : port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

/**
 * Serves every certificate of the PKI as DER at /<name>.cer, the way a CA's AIA host does. The
 * PKI is read at request time: the port must be known before certificates can embed it.
 */
export function aiaServer(getPki: () => LabPki | null): HttpServer {
  return createHttpServer((req, res) => {
    const m = /^\/([A-Za-z0-9_.-]+)\.cer$/.exec(req.url ?? '')
    const cert = m?.[1] ? getPki()?.certs.get(m[1]) : undefined
    if (!cert) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/pkix-cert', 'content-length': cert.der.length }).end(cert.der)
  })
}

/** The chain a host serves: its own, or one of its rotations. */
export type ServedChain = Pick<HostSpec, 'certificate' | 'send'>

function contextFor(host: ServedChain, pki: LabPki): { key: string; cert: string } {
  const leaf = pki.certs.get(host.certificate!)!
  const key = pki.keys.get(leaf.keyName)!
  const send = host.send ?? [host.certificate!]
  return {
    key: toPem(key.pkcs8, 'PRIVATE KEY'),
    cert: send.map((n) => toPem(pki.certs.get(n)!.der)).join(''),
  }
}

/**
 * Server settings that must be equal for hosts to share one listener (picked by SNI). OpenSSL
 * falls back to the listener's default context when the one chosen by SNI cannot serve the
 * client (no chain of its own, or no suite for its key type), which would send another host's
 * certificates; so leaf-only hosts never share, and hosts share only with the same key type. A
 * host with rotations is alone too: any of its chains may be leaf-only or of another key type,
 * and being alone lets its rotation replace the listener's default (no-SNI) chain as well.
 */
export function serverKey(host: HostSpec, name: string, leafKey: string): string {
  const s = host.server ?? {}
  const alone = (host.send ?? []).length <= 1 || host.rotations !== undefined ? name : ''
  return JSON.stringify([
    s.behaviour ?? 'tls',
    s.versions ?? null,
    s.cipherSuites ?? null,
    s.groups ?? null,
    s.port ?? 0,
    alone,
    leafKey.split('-')[0],
  ])
}

export interface TlsGroupServer {
  server: Server
  /** Serves `chain` for `name` from the next handshake on (connections already open keep theirs). */
  serve(name: string, chain: ServedChain): void
}

/**
 * One HTTPS listener for a group of hosts with identical server settings; the certificate is
 * chosen by SNI, and a hello without SNI gets the first host's. Each request gets a small body.
 */
export function tlsGroupServer(names: string[], spec: LabSpec, pki: LabPki): TlsGroupServer {
  const first = spec.hosts[names[0]!]!
  const s = first.server ?? {}
  const versions = s.versions ?? ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
  const hello = toNodeHello({
    versions,
    cipherSuites: s.cipherSuites ?? [],
    groups: s.groups ?? [],
    signatureAlgorithms: [],
    sni: true,
  })
  const settings = {
    minVersion: hello.minVersion,
    maxVersion: hello.maxVersion,
    ciphers: hello.ciphers,
    ...(hello.ecdhCurve ? { ecdhCurve: hello.ecdhCurve } : {}),
  }
  const contexts = new Map<string, SecureContext>()
  for (const name of names)
    contexts.set(name, createSecureContext({ ...settings, ...contextFor(spec.hosts[name]!, pki) }))
  const server = createHttpsServer(
    {
      ...settings,
      ...contextFor(first, pki),
      SNICallback: (servername, cb) => cb(null, contexts.get(servername.toLowerCase()) ?? contexts.get(names[0]!)!),
    },
    (req, res) => {
      // /status/NNN answers with that status, so HTTP errors can be tested on any host.
      const status = Number(/^\/status\/([1-5]\d\d)$/.exec(req.url ?? '')?.[1] ?? 200)
      const body = `tlsmatrix lab ${spec.name}: ${req.headers.host ?? '(no host)'} ${req.url}\n`
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
    },
  )
  server.on('tlsClientError', () => {})
  const serve = (name: string, chain: ServedChain) => {
    contexts.set(name, createSecureContext({ ...settings, ...contextFor(chain, pki) }))
    // The listener's own context answers hellos without SNI: it is the first host's.
    if (name === names[0]) server.setSecureContext({ ...settings, ...contextFor(chain, pki) })
  }
  return { server: server, serve }
}

/** Hostile or broken servers: what the resolver and the device must survive. */
export function behaviourServer(behaviour: Exclude<Behaviour, 'tls'>): Server {
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    switch (behaviour) {
      case 'stall':
        socket.resume()
        break
      case 'close':
        socket.destroy()
        break
      case 'garbage':
        socket.write(Buffer.from('\x00\xffGARBAGE\r\n+WIND:1:Poweron\r\nAT-S.OK\r\n', 'latin1'))
        break
      case 'plain-http':
        socket.once('data', () =>
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
        )
        break
    }
  })
  server.on('close', () => sockets.forEach((s) => s.destroy()))
  const close = server.close.bind(server)
  server.close = (cb?: (err?: Error) => void) => {
    sockets.forEach((s) => s.destroy())
    return close(cb)
  }
  return server
}
