/**
 * npm run bench:resolve — 1,000 lab targets resolved by tlsmatrix, by a bare Node TLS connect
 * loop with the same hello and concurrency (the ceiling here), and by openssl s_client
 * -showcerts run 32 at a time (what people script today). Prints targets/second and ratios,
 * in process (throughput) and as whole processes, tool start to exit, with the built CLI
 * (`node dist/cli/main.js`, what users run; built here first). Then a hostile chain: `resolve` on
 * certificate meshes (14 and 16 CA keys with one name certifying each other, issue 20), its wall
 * time and peak RSS. BENCH_PART=mesh runs only that part.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { connect } from 'node:tls'
import pLimit from 'p-limit'
import { CertCache, DEFAULT_AIA, DEFAULT_HELLO, loadTrustStore, Resolver, toNodeHello } from '../src/chain/index.js'
import { systemClock } from '../src/core/clock.js'
import { PACKAGE_ROOT } from '../src/core/paths.js'
import { parseHosts, parseResolveEntries } from '../src/hosts/index.js'
import { resolveBatch } from '../src/pipeline/index.js'
import { ObservationStore, openDb } from '../src/store/index.js'
import { meshSpec } from '../test/helpers/mesh.js'
import { spawnLab, startBenchLab } from './lab-process.js'

const N = Number(process.env.BENCH_TARGETS ?? 1000)
const CONCURRENCY = 32
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-bench-'))
const PROBE = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url))

function buildCli(): string {
  const built = spawnSync(
    process.execPath,
    [join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(PACKAGE_ROOT, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  )
  if (built.status !== 0) throw new Error('build failed')
  return join(PACKAGE_ROOT, 'dist/cli/main.js')
}

/**
 * `tlsmatrix resolve` (the built CLI, a process of its own) on a certificate mesh and an ordinary
 * target after it: wall time, peak RSS (getrusage, through rss-probe.mjs), and what was recorded.
 * Issue 20 saw the 14-key mesh take 6 minutes and 2.3 GB, and the 16-key one (240 CAs) run out of heap.
 */
async function meshFigures(): Promise<void> {
  const cli = buildCli()
  for (const keys of [14, 16]) {
    const out = join(dir, `mesh-${keys}`)
    mkdirSync(out, { recursive: true })
    const specFile = join(out, 'spec.json')
    writeFileSync(specFile, JSON.stringify(meshSpec(keys, { name: `bench-mesh-${keys}` })))
    const meshLab = await spawnLab(specFile, out)
    try {
      const hostsFile = join(out, 'hosts.txt')
      const rssFile = join(out, 'rss.txt')
      rmSync(rssFile, { force: true })
      const t0 = performance.now()
      const child = spawn(
        process.execPath,
        [
          cli,
          'resolve',
          '--hosts',
          hostsFile,
          '--db',
          join(out, 'mesh.db'),
          '--trust-store',
          meshLab.trustStoreFile,
          '--trust-store-only',
          '--no-aia',
          '--concurrency',
          '1',
          '--json',
          ...meshLab.resolveEntries.flatMap((e) => ['--resolve', e]),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(PROBE).href}`.trim(),
            TLSMATRIX_RSS_PROBE_FILE: rssFile,
          },
        },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const code = await new Promise<number | null>((r) => child.once('exit', r))
      const seconds = (performance.now() - t0) / 1000
      if (code !== 0 && code !== 1)
        throw new Error(`resolve on the ${keys}-key mesh exited ${code}: ${stderr.slice(-2000)}`)
      const rssMb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : NaN
      const obs = JSON.parse(stdout) as Array<{
        target: string
        served: Array<{ derBytes: number }>
        error: { code: string } | null
      }>
      const mesh = obs[0]!
      const kb = mesh.served.reduce((n, c) => n + c.derBytes, 0) / 1024
      console.log(
        `mesh of ${keys} keys (${mesh.served.length} certificates, ${kb.toFixed(0)} KB): resolve ${seconds.toFixed(2)} s, ` +
          `peak RSS ${rssMb.toFixed(0)} MB, recorded ${mesh.error?.code ?? 'ok'}; next target ${obs[1]?.error?.code ?? 'ok'}`,
      )
    } finally {
      await meshLab.stop()
    }
  }
}

const { lab, port, names } = await startBenchLab(dir, 'bench', 'ec-p256', N)
const hostsText = names.map((n) => `${n}:${port}`).join('\n')
const resolveMap = parseResolveEntries(names.map((n) => `${n}:${port}:127.0.0.1`))
const { targets } = parseHosts(hostsText, 'bench')

async function timed(label: string, fn: () => Promise<number>): Promise<number> {
  const t = performance.now()
  const ok = await fn()
  const s = (performance.now() - t) / 1000
  const rate = N / s
  console.log(`${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} targets/s  (${s.toFixed(2)} s, ${ok}/${N} ok)`)
  return rate
}

// Start-up (parsing the ~145 Mozilla roots once) is a fixed cost, printed apart from throughput.
const startup = performance.now()
const cache = new CertCache()
const store = await loadTrustStore({ files: [lab.trustStoreFile], only: false }, cache)
const startupMs = performance.now() - startup

async function tlsmatrix(subset = targets): Promise<number> {
  const resolver = new Resolver({
    store,
    cache,
    hello: DEFAULT_HELLO,
    timeoutMs: 10_000,
    resolveMap,
    aia: { ...DEFAULT_AIA, allowPrivate: true },
    clock: systemClock,
  })
  const dbPath = join(dir, `bench-${Date.now()}.db`)
  const db = openDb(dbPath)
  const obs = new ObservationStore(db, dbPath)
  const r = await resolveBatch(subset, resolver, {
    concurrency: CONCURRENCY,
    record: (o) => obs.record(o, DEFAULT_HELLO),
    clock: systemClock,
  })
  db.close()
  return r.observations.filter((o) => !o.error && o.anchors.length > 0).length
}

async function bareLoop(): Promise<number> {
  const hello = toNodeHello(DEFAULT_HELLO)
  const limit = pLimit(CONCURRENCY)
  let ok = 0
  await Promise.all(
    names.map((n) =>
      limit(
        () =>
          new Promise<void>((resolve) => {
            const s = connect({ host: '127.0.0.1', port, servername: n, rejectUnauthorized: false, ...hello }, () => {
              if (s.getPeerCertificate(true)?.raw) ok++
              s.destroy()
              resolve()
            })
            s.once('error', () => resolve())
          }),
      ),
    ),
  )
  return ok
}

async function openssl(): Promise<number> {
  const limit = pLimit(CONCURRENCY)
  let ok = 0
  await Promise.all(
    names.map((n) =>
      limit(
        () =>
          new Promise<void>((resolve) => {
            const p = spawn(
              'openssl',
              ['s_client', '-showcerts', '-connect', `127.0.0.1:${port}`, '-servername', n, '-tls1_2'],
              { stdio: ['pipe', 'pipe', 'ignore'] },
            )
            let out = ''
            p.stdout.on('data', (d: Buffer) => {
              out += d.toString()
            })
            p.stdin.end()
            p.once('close', () => {
              if (out.includes('BEGIN CERTIFICATE')) ok++
              resolve()
            })
          }),
      ),
    ),
  )
  return ok
}

/** Wall time of one process, start to exit. */
async function processMs(cmd: string, args: string[]): Promise<number> {
  const t = performance.now()
  const p = spawn(cmd, args, { stdio: 'ignore' })
  const code = await new Promise<number | null>((r) => p.once('exit', r))
  if (code !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${code}`)
  return performance.now() - t
}

async function median(times: number, fn: () => Promise<number>): Promise<number> {
  const all: number[] = []
  for (let i = 0; i < times; i++) all.push(await fn())
  return all.sort((a, b) => a - b)[Math.floor(all.length / 2)]!
}

async function wholeProcess(): Promise<void> {
  const cli = buildCli()
  const oneHosts = join(dir, 'one.txt')
  writeFileSync(oneHosts, `${names[0]}:${port}\n`)
  const allHosts = join(dir, 'all.txt')
  writeFileSync(allHosts, hostsText)
  const bare = join(dir, 'bare.mjs')
  // The bare tool: connect with the same hello, take the peer chain, exit; N names, 32 at once.
  writeFileSync(
    bare,
    `import { connect } from 'node:tls'
const [port, concurrency, ...names] = process.argv.slice(2)
const hello = ${JSON.stringify(toNodeHello(DEFAULT_HELLO))}
let next = 0
const one = () => new Promise((resolve) => {
  const s = connect({ host: '127.0.0.1', port: Number(port), servername: names[next++], rejectUnauthorized: false, ...hello }, () => { s.getPeerCertificate(true); s.destroy(); resolve() })
  s.once('error', resolve)
})
await Promise.all(Array.from({ length: Math.min(Number(concurrency), names.length) }, async () => { while (next < names.length) await one() }))
`,
  )
  const resolveArgs = (hosts: string, list: string[]) => [
    cli,
    'resolve',
    '--hosts',
    hosts,
    '--db',
    join(dir, `whole-${Date.now()}-${Math.random()}.db`),
    '--trust-store',
    lab.trustStoreFile,
    '--concurrency',
    String(CONCURRENCY),
    ...list.flatMap((n) => ['--resolve', `${n}:${port}:127.0.0.1`]),
  ]
  const oneOurs = await median(5, () => processMs(process.execPath, resolveArgs(oneHosts, names.slice(0, 1))))
  const oneBare = await median(5, () => processMs(process.execPath, [bare, String(port), '1', names[0]!]))
  console.log(
    `whole process, one target:   tlsmatrix resolve ${oneOurs.toFixed(0)} ms, bare one-shot ${oneBare.toFixed(0)} ms: ${(oneOurs / oneBare).toFixed(1)}x   (goal < 3x)`,
  )
  const allOurs = await processMs(process.execPath, resolveArgs(allHosts, names))
  const allBare = await processMs(process.execPath, [bare, String(port), String(CONCURRENCY), ...names])
  const allOssl = await (async () => {
    const t = performance.now()
    await openssl()
    return performance.now() - t
  })()
  console.log(
    `whole process, ${N} targets: tlsmatrix ${(allOurs / 1000).toFixed(2)} s, bare loop ${(allBare / 1000).toFixed(2)} s, openssl x32 ${(allOssl / 1000).toFixed(2)} s`,
  )
  console.log(
    `whole process: tlsmatrix / bare loop ${(allBare / allOurs).toFixed(2)} (goal >= 0.8), tlsmatrix / openssl ${(allOssl / allOurs).toFixed(1)}x (goal >= 8x)`,
  )
}

try {
  if (process.env.BENCH_PART !== 'mesh') await throughput()
} finally {
  await lab.stop()
}
await meshFigures()

async function throughput(): Promise<void> {
  console.log(`resolve benchmark: ${N} lab targets, concurrency ${CONCURRENCY}, lab in its own process`)
  // Warm-up, for both sides alike: JIT, the lab's keys, the first database pages.
  await bareLoop()
  await tlsmatrix(targets.slice(0, 200))
  console.log(`tlsmatrix start-up (trust store)    ${startupMs.toFixed(0)} ms, once per run`)
  // The bare loop runs before and after tlsmatrix and the two are averaged: on a 2-core machine
  // shared with the lab process, order alone moves a single figure by 10%.
  const bare1 = await timed('bare Node TLS connect loop', bareLoop)
  const ours = await timed('tlsmatrix resolve (capture+paths+db)', tlsmatrix)
  const bare2 = await timed('bare Node TLS connect loop (again)', bareLoop)
  const bare = (bare1 + bare2) / 2
  const ossl = await timed('openssl s_client -showcerts x32', openssl)
  console.log(`tlsmatrix / bare loop: ${((ours / bare) * 100).toFixed(0)}%   (goal >= 80%)`)
  console.log(`tlsmatrix / openssl:   ${(ours / ossl).toFixed(1)}x   (goal >= 8x)`)
  await wholeProcess()
}
