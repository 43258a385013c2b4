import { readFile } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { CertCache, DEFAULT_AIA, DEFAULT_HELLO, loadTrustStore, Resolver, toNodeHello, type HelloProfile, type Observation } from '../../chain/index.js'
import type { Clock } from '../../core/clock.js'
import { AppError, ExitError } from '../../core/errors.js'
import { formatProblems, parseHosts, parseResolveEntries, type Target } from '../../hosts/index.js'
import { resolveBatch } from '../../pipeline/resolve-batch.js'
import { ObservationStore, openDb } from '../../store/index.js'
import type { Io } from '../io.js'
import { observationJson } from '../output/resolve-json.js'
import { observationText, summaryText } from '../output/resolve-text.js'
import { resolveProgress } from '../progress.js'

export interface ResolveOptions {
  hosts: string
  db: string
  trustStore: string[]
  trustStoreOnly: boolean
  concurrency: number
  timeoutMs: number
  resolve: string[]
  aiaAllowPrivate: boolean
  aia: boolean
  hello?: string
  sni: boolean
  json: boolean
  quiet?: boolean
}

export { DEFAULT_DB } from '../defaults.js'

export async function readTargets(file: string, io: Io): Promise<Target[]> {
  let text: string
  try {
    text = await readFile(resolvePath(io.cwd, file), 'utf8')
  } catch (err) {
    throw new AppError('HOSTS_INVALID', `${file}: ${(err as Error).message}`)
  }
  const parsed = parseHosts(text, file)
  if (parsed.problems.length > 0) {
    const n = parsed.problems.length
    throw new AppError('HOSTS_INVALID', `${formatProblems(parsed.problems)}\n${n} problem${n === 1 ? '' : 's'} in ${file}; nothing was contacted`)
  }
  if (parsed.targets.length === 0) throw new AppError('HOSTS_INVALID', `${file}: no targets (every line is blank or a comment)`)
  return parsed.targets
}

async function readHello(file: string | undefined, sni: boolean, io: Io): Promise<HelloProfile> {
  let hello: HelloProfile = { ...DEFAULT_HELLO }
  if (file) {
    try {
      hello = { ...DEFAULT_HELLO, ...(JSON.parse(await readFile(resolvePath(io.cwd, file), 'utf8')) as Partial<HelloProfile>) }
    } catch (err) {
      throw new AppError('USAGE', `--hello ${file}: ${(err as Error).message}`)
    }
  }
  if (!sni) hello.sni = false
  toNodeHello(hello) // validates names now, before any connection
  return hello
}

/** `tlsmatrix resolve`: exit 0 all resolved, 1 some failed (all recorded), 2 usage or input. */
export async function resolveCommand(opts: ResolveOptions, io: Io, clock: Clock): Promise<Observation[]> {
  const targets = await readTargets(opts.hosts, io)
  const resolveMap = parseResolveEntries(opts.resolve)
  const hello = await readHello(opts.hello, opts.sni, io)
  const cache = new CertCache()
  const store = await loadTrustStore({ files: opts.trustStore.map((f) => resolvePath(io.cwd, f)), only: opts.trustStoreOnly }, cache)
  const dbPath = resolvePath(io.cwd, opts.db)
  const db = openDb(dbPath)
  try {
    const observations = new ObservationStore(db, dbPath)
    const resolver = new Resolver({
      store, cache, hello, timeoutMs: opts.timeoutMs, resolveMap, clock,
      aia: opts.aia ? { ...DEFAULT_AIA, timeoutMs: Math.min(DEFAULT_AIA.timeoutMs, opts.timeoutMs), allowPrivate: opts.aiaAllowPrivate } : null,
    })
    const progress = resolveProgress(io, opts.quiet ?? false)
    const result = await resolveBatch(targets, resolver, {
      concurrency: opts.concurrency,
      record: (o) => observations.record(o, hello),
      observer: progress,
      clock,
    })
    progress.end()
    if (opts.json) io.stdout.write(`${JSON.stringify(result.observations.map(observationJson), null, 2)}\n`)
    else {
      for (const o of result.observations) io.stdout.write(`${observationText(o)}\n\n`)
      io.stdout.write(`${summaryText(result.observations)}\nrecorded in ${dbPath}\n`)
    }
    for (const u of result.unrecorded) io.stderr.write(`not recorded: ${u.target}: ${u.message}\n`)
    const failed = result.observations.filter((o) => o.error).map((o) => o.target)
    if (result.unrecorded.length > 0) throw new ExitError(1)
    if (failed.length > 0) throw new ExitError(1, '', failed)
    return result.observations
  } finally {
    db.close()
  }
}
