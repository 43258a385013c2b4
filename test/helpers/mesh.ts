import { createServer, type Server, type TLSSocket } from 'node:tls'
import { toPem } from '../../src/chain/pem.js'
import { validateLabSpec, type CertSpec, type LabSpec, type RunningLab } from '../../src/lab/index.js'

/**
 * Certificate meshes, as a hostile server would send them: `keys` CA keys that all bear one name,
 * each certifying every other (keys × (keys - 1) certificates), sent after a leaf issued by the
 * first. Every walk through the mesh is a chain of valid signatures, so a search that follows them
 * all has on the order of keys! paths to walk. Hosts:
 * - `mesh-1.test` … `mesh-<leaves>.test`: each its own leaf (so its own chain) and the mesh;
 * - with `anchored`, `anchored.test`: a second mesh of `anchoredKeys` keys whose last key also
 *   has a self-signed root in the trust store, so countless paths do reach a trusted root;
 * - `next.test`: an ordinary leaf and its trusted root, the target after the mesh.
 */
export function meshSpec(
  keys: number,
  opts: { leaves?: number; anchored?: boolean; anchoredKeys?: number; name?: string } = {},
): LabSpec {
  const certificates: Record<string, CertSpec> = {}
  const hosts: LabSpec['hosts'] = {}
  const mesh = (prefix: string, n: number): string[] => {
    const ca = (i: number, j: number) => `${prefix}${i}_${j}`
    for (let i = 0; i < n; i++) {
      let first: string | null = null
      for (let j = 0; j < n; j++) {
        if (i === j) continue
        // Issued by key j: any certificate with j's key bears j's key and the one name.
        const issuer = ca(j, j === 0 ? 1 : 0)
        certificates[ca(i, j)] = first
          ? { subject: `CN=${prefix} Mesh CA`, keyOf: first, issuer, ca: true }
          : { subject: `CN=${prefix} Mesh CA`, key: 'ec-p256', issuer, ca: true }
        first ??= ca(i, j)
      }
    }
    return Object.keys(certificates).filter((c) => new RegExp(`^${prefix}\\d+_\\d+$`).test(c))
  }
  const m = mesh('m', keys)
  for (let i = 1; i <= (opts.leaves ?? 1); i++) {
    certificates[`leaf${i}`] = {
      subject: `CN=mesh-${i}.test`,
      key: 'ec-p256',
      issuer: 'm0_1',
      sans: [`mesh-${i}.test`],
    }
    hosts[`mesh-${i}.test`] = { certificate: `leaf${i}`, send: [`leaf${i}`, ...m] }
  }
  if (opts.anchored) {
    const n = opts.anchoredKeys ?? keys
    const a = mesh('a', n)
    certificates['aroot'] = { subject: 'CN=a Mesh CA', keyOf: `a${n - 1}_0`, issuer: 'self', ca: true, trust: true }
    certificates['aleaf'] = { subject: 'CN=anchored.test', key: 'ec-p256', issuer: 'a0_1', sans: ['anchored.test'] }
    hosts['anchored.test'] = { certificate: 'aleaf', send: ['aleaf', ...a] }
  }
  certificates['otherroot'] = { subject: 'CN=Other Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true }
  certificates['nextleaf'] = { subject: 'CN=next.test', key: 'ec-p256', issuer: 'otherroot', sans: ['next.test'] }
  hosts['next.test'] = { certificate: 'nextleaf', send: ['nextleaf', 'otherroot'] }
  return validateLabSpec(
    { name: opts.name ?? `mesh-${keys}${opts.anchored ? '-anchored' : ''}`, certificates, hosts },
    'mesh',
  )
}

/**
 * Serves a lab host's chain from a TLS server of the test's own (port 0, loopback), for tests that
 * must see what the server sees: `closed` resolves when the first client has taken the chain and
 * closed the connection (a resolver does so before it analyses the chain).
 */
export async function serveLabChain(
  lab: RunningLab,
  host: string,
): Promise<{ server: Server; port: number; connections: () => number; closed: Promise<void> }> {
  const spec = lab.spec.hosts[host]!
  const leaf = lab.pki.certs.get(spec.certificate!)!
  const key = lab.pki.keys.get(leaf.keyName)!
  const sockets: TLSSocket[] = []
  let connections = 0
  let onClosed = () => {}
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve
  })
  const server = createServer(
    {
      key: toPem(key.pkcs8, 'PRIVATE KEY'),
      cert: (spec.send ?? [spec.certificate!]).map((n) => toPem(lab.pki.certs.get(n)!.der)).join(''),
    },
    (socket) => {
      sockets.push(socket)
      socket.on('error', () => {})
      socket.on('close', onClosed)
    },
  )
  server.on('connection', () => connections++)
  server.on('close', () => sockets.forEach((s) => s.destroy()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port, connections: () => connections, closed }
}
