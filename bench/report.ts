/**
 * npm run bench:report — renders the report of 10,000 targets x 10 firmware versions x 2 anchors
 * (200,000 attempts) in every format with the built CLI, as users run it, and prints its wall
 * time, its peak RSS, each file's size, and how long headless Chromium takes to open index.html.
 * The database is generated once (bench/report-db.ts) and checked on every run.
 */
import { spawn, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { parseCertificate } from '../src/chain/index.js'
import { openDb, RunStore } from '../src/store/index.js'
import { reportBenchDb, type ReportDb } from './report-db.js'

const GOAL_RENDER_S = 5
const GOAL_RSS_MB = 300
const GOAL_PAGE_S = 5
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const PROBE = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url))

class BenchError extends Error {}

const goal = (ok: boolean, text: string) => `(goal ${text}: ${ok ? 'met' : 'MISSED'})`
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
const size = (bytes: number) => (bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : mb(bytes))

/** Counts, a sample attempt through RunStore, certificates through the chain parser: the generator did its job. */
function verifyDb(r: ReportDb): void {
  const db = openDb(r.path)
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
    const counts = {
      runs: count('SELECT count(*) n FROM runs'),
      attempts: count('SELECT count(*) n FROM attempts'),
      final: count('SELECT count(*) n FROM attempts WHERE final = 1'),
      observations: count('SELECT count(*) n FROM observations'),
      certificates: count('SELECT count(*) n FROM certificates'),
      pass: count("SELECT count(*) n FROM attempts WHERE outcome = 'pass'"),
      notRun: count("SELECT count(*) n FROM attempts WHERE outcome = 'not-run'"),
    }
    const want = { runs: r.versions, attempts: r.targets * r.versions * 2, observations: r.targets * r.versions * 2 }
    for (const [k, v] of Object.entries(want))
      if (counts[k as keyof typeof counts] !== v)
        throw new BenchError(
          `generated database ${r.path}: ${k} = ${counts[k as keyof typeof counts]}, expected ${v}; delete it to regenerate`,
        )
    if (counts.final !== counts.attempts)
      throw new BenchError(`generated database: ${counts.attempts - counts.final} attempts are not final`)
    const runs = new RunStore(db, r.path)
    const run = runs.getRun(r.runIds[0]!)
    const attempts = runs.attempts(r.runIds[0]!)
    const sample = attempts.find((a) => a.outcome === 'fail')
    if (
      !run?.profiles ||
      run.targets?.length !== r.targets ||
      attempts.length !== r.targets * 2 ||
      !sample ||
      sample.lines.length === 0 ||
      !sample.upload?.command.startsWith('AT+S.TLSCERT=ca,')
    ) {
      throw new BenchError(
        `generated database: run ${r.runIds[0]} does not read back through RunStore (profiles, targets, attempts, lines, upload)`,
      )
    }
    // Every 97th certificate parses, and its fingerprint is its key; one leaf verifies under its issuer.
    const certs = db.prepare('SELECT sha256, der, aki FROM certificates WHERE rowid % 97 = 0').all() as Array<{
      sha256: string
      der: Buffer
      aki: string | null
    }>
    for (const c of certs)
      if (parseCertificate(c.der).info.sha256 !== c.sha256)
        throw new BenchError(`generated database: certificate ${c.sha256} does not parse to its fingerprint`)
    const leaf = certs.find((c) => c.aki && !parseCertificate(c.der).info.isCA)!
    const issuer = db.prepare('SELECT der FROM certificates WHERE ski = ? AND is_ca = 1').get(leaf.aki) as
      { der: Buffer } | undefined
    if (!issuer || !new X509Certificate(leaf.der).verify(new X509Certificate(issuer.der).publicKey))
      throw new BenchError(`generated database: leaf ${leaf.sha256} does not verify under its issuer`)
    console.log(
      `database ${r.path} (${mb(statSync(r.path).size)}${r.generated ? ', generated now' : ', cached'}): ${counts.runs} runs, ${counts.attempts} attempts ` +
        `(${((100 * counts.pass) / counts.attempts).toFixed(1)}% pass, ${counts.notRun} not run), ${counts.observations} observations, ${counts.certificates} certificates; ` +
        `checked: RunStore reads run ${run.id} (${attempts.length} attempts), ${certs.length} certificates parse, a leaf verifies under its issuer`,
    )
  } finally {
    db.close()
  }
}

/** The CLI must be built and know `report`; otherwise say so instead of measuring an error. */
function checkCli(): void {
  if (!existsSync(CLI)) throw new BenchError(`bench:report needs the built CLI (${CLI}): npm run build`)
  const help = spawnSync(process.execPath, [CLI, 'report', '--help'], { encoding: 'utf8' })
  if (help.status !== 0 || !/--format/.test(help.stdout)) {
    const said = (help.stderr || help.stdout).trim().split('\n')[0]
    throw new BenchError(
      `the built CLI (${CLI}) has no \`report\` command yet: \`tlsmatrix report --help\` exits ${help.status} and shows no --format option ("${said}"). The database is generated and checked; run again once \`tlsmatrix report\` exists (npm run bench:report rebuilds the CLI)`,
    )
  }
}

async function render(
  dbPath: string,
  out: string,
): Promise<{ seconds: number; rssKb: number | null; code: number | null }> {
  const rssFile = join(out, '..', 'rss.txt')
  rmSync(rssFile, { force: true })
  const env = {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(PROBE).href}`.trim(),
    TLSMATRIX_RSS_PROBE_FILE: rssFile,
  }
  const t0 = performance.now()
  const child = spawn(
    process.execPath,
    [CLI, 'report', '--db', dbPath, '--format', 'html,md,csv,json,junit', '--out', out],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  const seconds = (performance.now() - t0) / 1000
  // Exit 1 is a report with findings (failures, mismatches): a rendered report all the same.
  if (code !== 0 && code !== 1) throw new BenchError(`tlsmatrix report exited ${code}: ${stderr.slice(-2000)}`)
  const rssKb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : null
  return { seconds, rssKb, code }
}

function files(dir: string): Array<{ path: string; bytes: number }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((p) => ({ path: relative(dir, p), bytes: statSync(p).size }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

/** The report's matrix table: the most specific selector the page has, else its first table. */
async function matrixSelector(page: Page): Promise<string> {
  const candidates = [
    process.env.BENCH_MATRIX_SELECTOR,
    '#matrix table',
    'table#matrix',
    'table.matrix',
    '[data-section="matrix"] table',
    'table',
  ].filter((s): s is string => !!s)
  for (const s of candidates) if ((await page.locator(s).count()) > 0) return s
  throw new BenchError(`index.html has no table (tried ${candidates.join(', ')})`)
}

async function openInChromium(
  index: string,
): Promise<{ launch: number; load: number; visible: number; selector: string }> {
  if (!existsSync(CHROMIUM)) throw new BenchError(`no Chromium at ${CHROMIUM} (set CHROMIUM=/path/to/chromium)`)
  const profile = mkdtempSync(join(tmpdir(), 'tlsmatrix-bench-chromium-'))
  const t0 = performance.now()
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    const t1 = performance.now()
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load', timeout: 120_000 })
    const t2 = performance.now()
    const selector = await matrixSelector(page)
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: 120_000 })
    const t3 = performance.now()
    return { launch: (t1 - t0) / 1000, load: (t2 - t1) / 1000, visible: (t3 - t1) / 1000, selector }
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
}

async function main(): Promise<number> {
  const targets = Number(process.env.BENCH_REPORT_TARGETS ?? 10_000)
  console.log(`report benchmark: ${targets} targets x 10 firmware versions x 2 anchors`)
  const db = await reportBenchDb({ targets, log: (l) => console.log(l) })
  verifyDb(db)
  checkCli()
  const work = mkdtempSync(join(tmpdir(), 'tlsmatrix-bench-report-out-'))
  const out = join(work, 'report')
  mkdirSync(out)
  try {
    const r = await render(db.path, out)
    const rssMb = r.rssKb === null ? null : r.rssKb / 1024
    console.log(
      `render (tlsmatrix report --format html,md,csv,json,junit, exit ${r.code}): ${r.seconds.toFixed(2)} s ${goal(r.seconds < GOAL_RENDER_S, `< ${GOAL_RENDER_S} s`)}, ` +
        `peak RSS ${rssMb === null ? 'unknown (the process left no reading)' : `${rssMb.toFixed(0)} MB ${goal(rssMb < GOAL_RSS_MB, `< ${GOAL_RSS_MB} MB`)}`}`,
    )
    for (const f of files(out)) console.log(`  ${f.path.padEnd(40)} ${size(f.bytes).padStart(10)}`)
    const index = join(out, 'index.html')
    if (!existsSync(index)) throw new BenchError(`the report wrote no index.html in ${out}`)
    const page = await openInChromium(index)
    console.log(
      `Chromium opens index.html: load ${page.load.toFixed(2)} s, matrix visible (${page.selector}) ${page.visible.toFixed(2)} s ${goal(page.visible < GOAL_PAGE_S, `< ${GOAL_PAGE_S} s`)} (browser start ${page.launch.toFixed(2)} s, not counted)`,
    )
    return 0
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

try {
  process.exitCode = await main()
} catch (err) {
  if (!(err instanceof BenchError)) throw err
  console.error(`bench:report: ${err.message}`)
  process.exitCode = 1
}
