import { createServer, type TLSSocket } from 'node:tls'
import { toNodeHello } from '../../src/chain/index.js'
import { toPem } from '../../src/chain/pem.js'
import type { RunningLab } from '../../src/lab/index.js'

export interface LabChainServer {
  port: number
  /** HTTP requests received so far (a module's HTTPS GET reached the server). */
  requests(): number
  /** Connections open now. */
  connections(): number
  close(): Promise<void>
}

/**
 * Holds a module's HTTPS requests at the server, to keep a run mid-way for as long as a test
 * needs (a Ctrl-C, a kill -9, a second run, a merge) whatever the machine's speed: each request
 * received takes a pass and is answered at once; without one it waits, answered when passes
 * come. Shared by any number of servers, so that "the first 3 requests of the run" is one count.
 */
export class RequestGate {
  private passes: number
  private readonly waiting: Array<() => void> = []
  private answered = 0

  /** `passes`: requests answered before the gate holds (Infinity: it never holds). */
  constructor(passes = 0) {
    this.passes = passes
  }

  /** Requests waiting at the gate now. */
  held(): number {
    return this.waiting.length
  }

  /** Requests the gate let through so far. */
  passed(): number {
    return this.answered
  }

  /** `n` more requests through (the waiting first); with no argument, every one from now on. */
  open(n = Infinity): void {
    this.passes += n
    while (this.passes > 0 && this.waiting.length > 0) {
      this.passes--
      this.answered++
      this.waiting.shift()!()
    }
  }

  /** Calls `answer` once the request has a pass. */
  request(answer: () => void): void {
    this.waiting.push(answer)
    this.open(0)
  }
}

/**
 * An HTTPS server on a free loopback port serving one lab host's chain (so a module trusts it as
 * that host) and answering every request with exactly `body`, byte for byte, as a server on the
 * internet may: status 200, Content-Length, then the connection closed. With `body` null it reads
 * the request and never answers (a server that hangs); with a `gate`, it answers when the gate says.
 */
export async function labChainServer(
  lab: RunningLab,
  host: string,
  body: string | null,
  opts: { gate?: RequestGate } = {},
): Promise<LabChainServer> {
  const spec = lab.spec.hosts[host]!
  const leaf = lab.pki.certs.get(spec.certificate!)!
  const key = lab.pki.keys.get(leaf.keyName)!
  // Every version and suite a module of any profile offers (the lab's own listeners do the same).
  const hello = toNodeHello({
    versions: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    cipherSuites: [],
    groups: [],
    signatureAlgorithms: [],
    sni: true,
  })
  let requests = 0
  const sockets = new Set<TLSSocket>()
  const payload = body === null ? null : Buffer.from(body, 'latin1')
  const server = createServer(
    {
      minVersion: hello.minVersion,
      maxVersion: hello.maxVersion,
      ciphers: hello.ciphers,
      key: toPem(key.pkcs8, 'PRIVATE KEY'),
      cert: (spec.send ?? [spec.certificate!]).map((n) => toPem(lab.pki.certs.get(n)!.der)).join(''),
    },
    (socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
      let request = ''
      socket.on('data', (d: Buffer) => {
        if (request.includes('\r\n\r\n')) return
        request += d.toString('latin1')
        if (!request.includes('\r\n\r\n')) return
        requests++
        if (!payload) return
        const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`
        const answer = () => socket.end(Buffer.concat([Buffer.from(head, 'latin1'), payload]))
        if (opts.gate) opts.gate.request(answer)
        else answer()
      })
    },
  )
  server.on('tlsClientError', () => {})
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    requests: () => requests,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

/**
 * Lab hosts served again, each by a labChainServer of its own behind one gate: the chain the
 * module sees is the host's, and its HTTPS requests wait at the gate. `hostsText` and `resolve`
 * name these servers (one target per host).
 */
export async function gatedLabTargets(
  lab: RunningLab,
  hosts: readonly string[],
  gate: RequestGate,
): Promise<{ hostsText: string; resolve: string[]; close(): Promise<void> }> {
  const servers = await Promise.all(hosts.map((h) => labChainServer(lab, h, `${h}\r\n`, { gate })))
  return {
    hostsText: hosts.map((h, i) => `${h}:${servers[i]!.port}\n`).join(''),
    resolve: hosts.map((h, i) => `${h}:${servers[i]!.port}:127.0.0.1`),
    close: async () => {
      await Promise.all(servers.map((s) => s.close()))
    },
  }
}
