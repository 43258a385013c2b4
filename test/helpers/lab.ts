import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import {
  CertCache,
  DEFAULT_AIA,
  DEFAULT_HELLO,
  loadTrustStore,
  Resolver,
  type HelloProfile,
} from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import { dataPath } from '../../src/core/paths.js'
import { parseHosts, parseResolveEntries, type Target } from '../../src/hosts/index.js'
import { readLabSpec, startLab, type RunningLab } from '../../src/lab/index.js'
import type { SurveyInput } from '../../src/pipeline/index.js'
import { labCacheDir } from './lab-keys.js'

/**
 * Starts a lab from data/lab (`name`, or a spec file ending in .json) on free ports, its keys the committed fixture keys
 * in this process's own cache (labCacheDir): nothing shared with another process, and no key
 * generated. hosts.txt and trust.pem name this lab's ports, so they are private to it too.
 */
export async function startTestLab(name = 'basic', opts: { outDir?: string } = {}): Promise<RunningLab> {
  const spec = await readLabSpec(name.endsWith('.json') ? name : dataPath('lab', `${name}.json`))
  const outDir = opts.outDir ?? mkdtempSync(join(tmpdir(), `tlsmatrix-lab-${spec.name}-`))
  return await startLab(spec, { cacheDir: labCacheDir(spec), outDir, now: new Date(), ephemeralPorts: true })
}

export function labTargets(lab: RunningLab): Map<string, Target> {
  const { targets, problems } = parseHosts(readFileSync(lab.hostsFile, 'utf8'), lab.hostsFile)
  if (problems.length) throw new Error(JSON.stringify(problems))
  return new Map(targets.map((t) => [t.host, t]))
}

export async function labResolver(
  lab: RunningLab,
  opts: { hello?: HelloProfile; allowPrivate?: boolean; aia?: boolean; timeoutMs?: number } = {},
): Promise<Resolver> {
  const cache = new CertCache()
  const store = await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache)
  return new Resolver({
    store,
    cache,
    hello: opts.hello ?? DEFAULT_HELLO,
    // Generous: on a busy machine a healthy lab handshake only gets slower, never a timeout.
    timeoutMs: opts.timeoutMs ?? 15_000,
    resolveMap: parseResolveEntries(lab.resolveEntries),
    aia: opts.aia === false ? null : { ...DEFAULT_AIA, allowPrivate: opts.allowPrivate ?? true },
    clock: systemClock,
    // Tests never ask a real resolver: names not mapped by the lab do not exist.
    lookup: (host) => Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })),
  })
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

export function fakeTarget(host: string, port: number, sni: string | null = host): Target {
  return {
    id: `${host}:${port}`,
    host,
    hostKind: 'dns',
    port,
    path: '/',
    sni,
    tags: [],
    expect: null,
    source: { file: 'test', line: 1 },
  }
}

/**
 * A survey of lab targets on one device, as a test of the pipeline runs it: every anchor, one
 * target resolved at a time, generous time-outs, a new run.
 */
export function labSurveyInput(
  lab: RunningLab,
  given: Pick<SurveyInput, 'targets' | 'hostsText' | 'store' | 'cache'> & { device: string },
): SurveyInput {
  return {
    targets: given.targets,
    hostsFile: 'hosts.txt',
    hostsText: given.hostsText,
    devices: [{ label: 'dev', url: given.device }],
    profileDirs: [],
    resolveEntries: lab.resolveEntries,
    resolveMap: parseResolveEntries(lab.resolveEntries),
    store: given.store,
    cache: given.cache,
    aiaAllowPrivate: true,
    anchors: { mode: 'all', includeUntrusted: false },
    label: null,
    concurrency: 1,
    timeoutMs: 60_000,
    deviceTimeoutMs: 30_000,
    toolVersion: 'test',
    options: {},
    resume: null,
  }
}
