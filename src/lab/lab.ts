import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Server } from 'node:net'
import type { Server as HttpServer } from 'node:http'
import { AppError, isAppError } from '../core/errors.js'
import { toPem } from '../chain/pem.js'
import { loadOrCreatePki, type LabPki } from './cache.js'
import { keyOwners } from './pki.js'
import { readKeptPorts, writeKeptPorts } from './ports.js'
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
  /** The file its ports are kept in (`--ports`), null when they are not kept. */
  portsFile: string | null
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
  /**
   * Certificates name the spec's AIA port (`aia.port`, else 80) wherever the AIA server listens;
   * when it listens elsewhere (ephemeral ports, a busy port) it is reached through a `connect-to`
   * entry. The certificates are then the cached ones from one start to the next, so a survey of
   * the lab restarted sees the same chains (the demo). Callers must pass `connectToEntries` too.
   */
  stableCertificates?: boolean
  /**
   * A file of the ports this lab listened on last time (`lab --ports`): each listener takes its
   * recorded port again (LAB_PORT_IN_USE, naming the host and the file, when it is taken), new
   * listeners take one as usual, and the file is rewritten with them all.
   */
  portsFile?: string
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
    // The AIA port the certificates name: the listener's, unless they are kept stable.
    let aiaNamed = 0
    let pkiRef: LabPki | null = null
    const kept = opts.portsFile ? await readKeptPorts(opts.portsFile, spec.name) : null
    const taken = new Set<number>()
    // A port recorded in the ports file is taken again, exactly; the others as the options say.
    const bind = async (server: Server | HttpServer, what: string, recorded: number | null, preferred: number) => {
      let port: number
      if (recorded === null || taken.has(recorded)) port = await listenPreferring(server, preferred)
      else {
        try {
          port = await listen(server, recorded)
        } catch (err) {
          if (!isAppError(err, 'LAB_PORT_IN_USE')) throw err
          throw new AppError(
            'LAB_PORT_IN_USE',
            `port ${recorded} on 127.0.0.1, recorded in ${opts.portsFile} for ${what}, is in use: stop what holds it (ss -ltnp 'sport = :${recorded}' names it), or delete ${opts.portsFile} to take new ports (the targets known by their listener's port then get new ids)`,
            { cause: err },
          )
        }
      }
      taken.add(port)
      return port
    }
    if (spec.aia) {
      const aia = aiaServer(() => pkiRef)
      servers.push(aia)
      // The AIA port is baked into certificates. A fixed port keeps the cached certificates valid
      // (a busy one falls back to a free port and a re-issued PKI); an ephemeral one is this lab's
      // only, unless the certificates name the spec's port and a connect-to entry leads there, or
      // the ports file keeps it from start to start.
      aiaPort = await bind(
        aia,
        `the AIA server ${spec.aia.host}`,
        kept?.aia ?? null,
        opts.ephemeralPorts ? 0 : (spec.aia.port ?? 0),
      )
      aiaNamed = opts.stableCertificates ? (spec.aia.port ?? 80) : aiaPort
      aiaBase = `http://${spec.aia.host}:${aiaNamed}`
    }
    const pki = await loadOrCreatePki(spec, join(opts.cacheDir, spec.name), aiaBase, opts.now, {
      cacheCertificates: Boolean(opts.stableCertificates || kept) || !(opts.ephemeralPorts && spec.aia),
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
        const recorded = batch.map((n) => kept?.hosts.get(n)).find((p) => p !== undefined) ?? null
        const port = await bind(
          server,
          `host ${batch.join(', ')}`,
          recorded,
          opts.ephemeralPorts ? 0 : (first.server?.port ?? 0),
        )
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
    if (opts.portsFile)
      writeKeptPorts(opts.portsFile, spec.name, {
        hosts: new Map(hosts.map((h) => [h.name, h.listenPort])),
        aia: spec.aia ? aiaPort : null,
      })
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
    if (spec.aia && aiaNamed === aiaPort) resolveEntries.push(`${spec.aia.host}:${aiaPort}:127.0.0.1`)
    const connectToEntries = hosts
      .filter((h) => h.port !== h.listenPort)
      .map((h) => `${h.name}:${h.port}:${h.address}:${h.listenPort}`)
    if (spec.aia && aiaNamed !== aiaPort) connectToEntries.push(`${spec.aia.host}:${aiaNamed}:127.0.0.1:${aiaPort}`)
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
      portsFile: opts.portsFile ?? null,
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
