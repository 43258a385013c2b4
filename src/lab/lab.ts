import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Server } from 'node:net'
import type { Server as HttpServer } from 'node:http'
import { AppError, isAppError } from '../core/errors.js'
import { toPem } from '../chain/pem.js'
import { loadOrCreatePki, type LabPki } from './cache.js'
import { keyOwners } from './pki.js'
import { aiaServer, behaviourServer, listen, serverKey, tlsGroupServer, type TlsGroupServer } from './servers.js'
import { validateLabSpec, type LabSpec } from './spec.js'

export interface LabHost {
  name: string
  /** The port the target is known by: the spec's `port`, else the listener's. */
  port: number
  /** Where it really listens (on `address`). */
  listenPort: number
  address: string
  description: string | null
  tags: string[]
  expect: 'pass' | 'fail' | null
}

export interface RunningLab {
  spec: LabSpec
  pki: LabPki
  hosts: LabHost[]
  aiaBase: string | null
  /** `--resolve` values for the hosts known by their listener's port (and the AIA host). */
  resolveEntries: string[]
  /** `--connect-to` values for the hosts known by another port (the spec's `port`). */
  connectToEntries: string[]
  /** Written files: a hosts file of the lab targets and a PEM bundle of its trusted roots. */
  hostsFile: string
  trustStoreFile: string
  /**
   * Switches `host` to another chain without changing its port: 0 is the spec's own chain, i is
   * `rotations[i-1]`. New handshakes get it; connections already open keep theirs. An unknown
   * host or rotation is `USAGE`.
   */
  rotate(host: string, to: number): void
  /** The rotation each host with rotations serves now (0 = its own chain). */
  rotation(host: string): number
  close(): Promise<void>
}

export interface StartLabOptions {
  cacheDir: string
  /** Directory for hosts.txt and trust.pem; defaults to cacheDir. */
  outDir?: string
  now: Date
  /**
   * Ignore every fixed port in the spec, the AIA server's too (tests, parallel runs, the demo):
   * nothing machine-wide. Certificates name the AIA port, so they are issued afresh (keys stay cached).
   */
  ephemeralPorts?: boolean
}

export async function readLabSpec(file: string): Promise<LabSpec> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new AppError('LAB_SPEC_INVALID', `${file}: ${(err as Error).message}`, { cause: err })
  }
  return validateLabSpec(raw, file)
}

/** Generates (or loads) the lab PKI and serves every host on loopback until close(). */
export async function startLab(spec: LabSpec, opts: StartLabOptions): Promise<RunningLab> {
  const servers: Array<Server | HttpServer> = []
  const closeAll = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r())
            ;(s as HttpServer).closeAllConnections?.()
          }),
      ),
    )
  }
  try {
    let aiaBase: string | null = null
    let aiaPort = 0
    let pkiRef: LabPki | null = null
    if (spec.aia) {
      const aia = aiaServer(() => pkiRef)
      servers.push(aia)
      // The AIA port is baked into certificates. A fixed port keeps the cached certificates valid
      // (a busy one falls back to a free port and a re-issued PKI); an ephemeral one is this lab's only.
      aiaPort = await listenPreferring(aia, opts.ephemeralPorts ? 0 : (spec.aia.port ?? 0))
      aiaBase = `http://${spec.aia.host}:${aiaPort}`
    }
    const pki = await loadOrCreatePki(spec, join(opts.cacheDir, spec.name), aiaBase, opts.now, {
      cacheCertificates: !(opts.ephemeralPorts && spec.aia),
    })
    pkiRef = pki
    const groups = new Map<string, string[]>()
    const owners = keyOwners(spec)
    for (const [name, host] of Object.entries(spec.hosts)) {
      const key = serverKey(host, name, host.certificate ? owners.get(host.certificate)!.keySpec : '')
      groups.set(key, [...(groups.get(key) ?? []), name])
    }
    const hosts: LabHost[] = []
    const servedBy = new Map<string, TlsGroupServer>()
    for (const names of groups.values()) {
      const first = spec.hosts[names[0]!]!
      const behaviour = first.server?.behaviour ?? 'tls'
      // Hostile servers each get their own port; they have no SNI to pick by.
      const batches = behaviour === 'tls' ? [names] : names.map((n) => [n])
      for (const batch of batches) {
        const tls = behaviour === 'tls' ? tlsGroupServer(batch, spec, pki) : null
        if (tls) for (const name of batch) servedBy.set(name, tls)
        const server = tls ? tls.server : behaviourServer(behaviour as 'stall')
        servers.push(server)
        const port = await listenPreferring(server, opts.ephemeralPorts ? 0 : (first.server?.port ?? 0))
        for (const name of batch) {
          const h = spec.hosts[name]!
          hosts.push({
            name,
            port: h.port ?? port,
            listenPort: port,
            address: '127.0.0.1',
            description: h.description ?? null,
            tags: h.tags ?? [],
            expect: h.expect ?? null,
          })
        }
      }
    }
    hosts.sort((a, b) => Object.keys(spec.hosts).indexOf(a.name) - Object.keys(spec.hosts).indexOf(b.name))
    const outDir = opts.outDir ?? join(opts.cacheDir, spec.name)
    await mkdir(outDir, { recursive: true })
    const hostsFile = join(outDir, 'hosts.txt')
    const trustStoreFile = join(outDir, 'trust.pem')
    await writeFile(hostsFile, labHostsText(spec, hosts))
    const trusted = Object.entries(spec.certificates)
      .filter(([, c]) => c.trust)
      .map(([n]) => toPem(pki.certs.get(n)!.der))
    await writeFile(trustStoreFile, trusted.join(''))
    const resolveEntries = hosts.filter((h) => h.port === h.listenPort).map((h) => `${h.name}:${h.port}:${h.address}`)
    if (spec.aia) resolveEntries.push(`${spec.aia.host}:${aiaPort}:127.0.0.1`)
    const connectToEntries = hosts
      .filter((h) => h.port !== h.listenPort)
      .map((h) => `${h.name}:${h.port}:${h.address}:${h.listenPort}`)
    const current = new Map<string, number>()
    const rotate = (host: string, to: number) => {
      const h = Object.hasOwn(spec.hosts, host) ? spec.hosts[host] : undefined
      const tls = servedBy.get(host)
      const count = h?.rotations?.length ?? 0
      if (!h || !tls) throw new AppError('USAGE', `lab "${spec.name}" has no TLS host "${host}" to rotate`)
      if (!Number.isInteger(to) || to < 0 || to > count) {
        throw new AppError(
          'USAGE',
          `lab host "${host}" has ${count === 0 ? 'no rotations' : `rotations 0-${count}`} (0 is its own chain), not ${to}`,
        )
      }
      const r = to === 0 ? h : h.rotations![to - 1]!
      const leaf = r.certificate ?? h.certificate!
      tls.serve(host, { certificate: leaf, send: r.send ?? [leaf] })
      current.set(host, to)
    }
    const rotation = (host: string) => current.get(host) ?? 0
    return {
      spec,
      pki,
      hosts,
      aiaBase,
      resolveEntries,
      connectToEntries,
      hostsFile,
      trustStoreFile,
      rotate,
      rotation,
      close: closeAll,
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}

/** Fixed ports are a preference: when taken, a free one is used and printed. */
async function listenPreferring(server: Server | HttpServer, port: number): Promise<number> {
  try {
    return await listen(server, port)
  } catch (err) {
    if (port !== 0 && isAppError(err, 'LAB_PORT_IN_USE')) return await listen(server, 0)
    throw err
  }
}

function labHostsText(spec: LabSpec, hosts: LabHost[]): string {
  const lines = [
    `# tlsmatrix lab "${spec.name}": targets on loopback; pass the --resolve and --connect-to entries the lab printed`,
  ]
  for (const h of hosts) {
    const opts = [h.tags.length ? `tags=${h.tags.join(',')}` : '', h.expect ? `expect=${h.expect}` : '']
      .filter(Boolean)
      .join(' ')
    lines.push(`${h.name}:${h.port}${opts ? ' ' + opts : ''}`)
  }
  return lines.join('\n') + '\n'
}
