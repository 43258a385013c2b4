/**
 * `npm run test:busy [-- [RUNS] [--beside DIR | --alone] [--burners N] [TEST_FILE...]]`: this
 * checkout's `npm test` on a busy machine, the way issue 19 measures it: beside a second checkout
 * running its own `npm test`, and a CPU burner (`--burners N`, default 1). RUNS times in a row
 * (default 1); every run is counted. At the end of each run, both suites' results, wall and CPU
 * time, and each one's slowest test files.
 *
 * The second checkout is `--beside DIR` (a checkout with its node_modules), else a temporary clone
 * of this checkout's HEAD (committed work only) using this checkout's node_modules, removed at
 * the end. `--alone` runs no second suite. With TEST_FILE arguments only those files run
 * (`npm test -- FILE...`), alone unless --beside is given.
 * Exit code 1 when any suite failed in any run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

interface Options {
  runs: number
  beside: string | null
  alone: boolean
  burners: number
  files: string[]
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 1, beside: null, alone: false, burners: 1, files: [] }
  const whole = (v: string | undefined, what: string, min: number) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be a whole number ≥ ${min}, not "${v}"`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--beside') o.beside = resolve(argv[++i] ?? '')
    else if (a === '--alone') o.alone = true
    else if (a === '--burners') o.burners = whole(argv[++i], '--burners', 0)
    else if (a.startsWith('--')) throw new Error(`unknown option ${a} (--beside DIR, --alone, --burners N)`)
    else if (i === 0 && /^\d+$/.test(a)) o.runs = whole(a, 'RUNS', 1)
    else o.files.push(a)
  }
  if (o.beside && o.alone) throw new Error('--beside and --alone exclude each other')
  return o
}

/** `npm test`, with the files when some are given (the runner takes them in place of every file). */
function testCommand(files: string[]): string {
  return ['npm test', ...(files.length ? ['--', ...files.map((f) => `'${f.replace(/'/g, "'\\''")}'`)] : [])].join(' ')
}

interface SuiteResult {
  label: string
  code: number | null
  wallS: number
  cpuS: number | null
  counts: string
  slowest: string
  failing: string
}

/**
 * Runs a checkout's test command in a shell that prints its children's CPU time (`times`) last:
 * user + system time of the runner and of every process under it.
 */
async function runSuite(label: string, checkout: string, command: string, log: string): Promise<SuiteResult> {
  const t0 = performance.now()
  const out = createWriteStream(log)
  const child = spawn('sh', ['-c', `${command}; s=$?; times; exit $s`], {
    cwd: checkout,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  })
  child.stdout.pipe(out, { end: false })
  child.stderr.pipe(out, { end: false })
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)))
  await new Promise<void>((r) => out.end(r))
  const text = readFileSync(log, 'utf8')
  const lines = text.trimEnd().split('\n')
  // `times`: the shell's own times, then its children's (e.g. `3m2.123s 0m20.456s`).
  const cpu = [...(lines.at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  const count = (k: string) => new RegExp(`^(?:ℹ|#) ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? '?'
  const slowestAt = text.lastIndexOf('\nslowest test files')
  const slowest = slowestAt < 0 ? [] : text.slice(slowestAt + 1).split('\n')
  const failingAt = text.indexOf('\n✖ failing tests:')
  return {
    label,
    code,
    wallS: (performance.now() - t0) / 1000,
    cpuS: cpu.length === 2 ? cpu[0]! + cpu[1]! : null,
    counts: ['tests', 'pass', 'fail', 'cancelled'].map((k) => `${k} ${count(k)}`).join(', '),
    slowest: [slowest[0] ?? '', ...slowest.slice(1).filter((l) => /^ +[\d.]+ s {2}/.test(l))].join('\n').trim(),
    failing:
      failingAt < 0
        ? ''
        : text
            .slice(failingAt + 1, slowestAt > failingAt ? slowestAt : undefined)
            .split('\n')
            .filter((l) => /^\s*✖|^\s+(error|expected|actual):/.test(l))
            .slice(0, 40)
            .join('\n'),
  }
}

/** A clone of this checkout's HEAD beside it, with this checkout's node_modules. */
function cloneHead(dir: string): string {
  const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  const clone = join(dir, 'second-checkout')
  execFileSync('git', ['clone', '--quiet', '--shared', '--no-checkout', ROOT, clone])
  execFileSync('git', ['-C', clone, 'checkout', '--quiet', '--detach', head])
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir')
  return clone
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2))
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-test-busy-'))
  const burners: ChildProcess[] = []
  const stop = () => {
    for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL')
  }
  process.once('exit', stop)
  process.once('SIGINT', () => {
    stop()
    rmSync(dir, { recursive: true, force: true })
    process.kill(process.pid, 'SIGINT')
  })
  try {
    const besideDir = o.alone || (o.files.length > 0 && !o.beside) ? null : (o.beside ?? cloneHead(dir))
    if (besideDir && !existsSync(join(besideDir, 'node_modules')))
      throw new Error(`${besideDir} has no node_modules: npm ci there first`)
    for (let i = 0; i < o.burners; i++) burners.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
    const beside = besideDir ? ` beside ${o.beside ? besideDir : 'a clone of HEAD'}'s npm test` : ''
    process.stdout.write(
      `test:busy: ${o.files.length ? `${o.files.length} test files` : 'npm test'}${beside} and ${o.burners} CPU burner${o.burners === 1 ? '' : 's'}, ${o.runs} run${o.runs === 1 ? '' : 's'}\n`,
    )
    let failed = 0
    for (let run = 1; run <= o.runs; run++) {
      const suites = [runSuite('this checkout', ROOT, testCommand(o.files), join(dir, `run${run}-this.log`))]
      if (besideDir)
        suites.push(runSuite('second checkout', besideDir, testCommand([]), join(dir, `run${run}-second.log`)))
      const results = await Promise.all(suites)
      for (const r of results) {
        const ok = r.code === 0
        if (!ok) failed++
        process.stdout.write(
          `\nrun ${run}/${o.runs}, ${r.label}: ${ok ? 'ok' : `FAILED (exit ${r.code})`} — ${r.counts}; ` +
            `${r.wallS.toFixed(0)} s wall, ${r.cpuS === null ? '?' : r.cpuS.toFixed(0)} s CPU\n`,
        )
        if (r.failing) process.stdout.write(`${r.failing}\n`)
        if (r.slowest) process.stdout.write(`${r.slowest}\n`)
      }
    }
    // The logs are kept when something failed: they are the evidence.
    process.stdout.write(
      `\n${failed === 0 ? 'every suite passed' : `${failed} suite run(s) failed; the logs are kept in ${dir}`}\n`,
    )
    if (failed === 0) rmSync(dir, { recursive: true, force: true })
    return failed === 0 ? 0 : 1
  } finally {
    stop()
    if (existsSync(join(dir, 'second-checkout'))) rmSync(join(dir, 'second-checkout'), { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`test:busy: ${(err as Error).message}\n`)
    process.exitCode = 2
  },
)
