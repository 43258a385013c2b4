import { createServer, type TLSSocket } from 'node:tls'
import { toNodeHello } from '../../src/chain/index.js'
import { toPem } from '../../src/chain/pem.js'
import type { RunningLab } from '../../src/lab/index.js'

export interface LabChainServer {
  port: number
  /** HTTP requests received so far (a module's HTTPS GET reached the server). */
  requests(): number
  close(): Promise<void>
}

/**
 * An HTTPS server on a free loopback port serving one lab host's chain (so a module trusts it as
 * that host) and answering every request with exactly `body`, byte for byte, as a server on the
 * internet may: status 200, Content-Length, then the connection closed. With `body` null it reads
 * the request and never answers (a server that hangs).
 */
export async function labChainServer(lab: RunningLab, host: string, body: string | null): Promise<LabChainServer> {
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
        socket.end(Buffer.concat([Buffer.from(head, 'latin1'), payload]))
      })
    },
  )
  server.on('tlsClientError', () => {})
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}
