/**
 * `npm test [-- TEST_FILE...]`: every test file (test/*\/*.test.ts), or the given ones, each in a
 * process of its own (Node's test runner), CONCURRENCY at a time (TLSMATRIX_TEST_CONCURRENCY,
 * default 3: measured, see docs/testing.md). The slowest files start first, so that no long file
 * is left to run alone at the end; then the rest in name order. Prints the results (Node's spec
 * reporter), then each file's wall time, the slowest first, and when it started. Exit code 1 when
 * a test failed. What CI runs (.ci/run).
 */
import { readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type { Transform } from 'node:stream'
import { run } from 'node:test'
import { spec } from 'node:test/reporters'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

/**
 * Started first, longest first (times from `npm test`'s own report). Only an order: a file missing
 * here runs all the same, in name order after these; a name here that no longer exists is said.
 */
export const SLOW_FIRST = [
  'test/learn/learn-roundtrip.test.ts',
  'test/learn/learn-cli.test.ts',
  'test/device/device-suite.test.ts',
  'test/survey/no-false-verdict.test.ts',
  'test/survey/resume.test.ts',
  'test/cli/run-spec.test.ts',
  'test/cli/doctor.test.ts',
  'test/cli/doctor-unknown.test.ts',
  'test/cli/interrupt.test.ts',
  'test/survey/esp-at-survey.test.ts',
]

export const DEFAULT_CONCURRENCY = 3

/** Every test file, relative to the repository, the slow ones first. */
export function testFiles(root = ROOT): { files: string[]; missing: string[] } {
  const all = readdirSync(join(root, 'test'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(root, 'test', d.name))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `test/${d.name}/${f}`),
    )
    .sort()
  const slow = SLOW_FIRST.filter((f) => all.includes(f))
  return {
    files: [...slow, ...all.filter((f) => !slow.includes(f))],
    missing: SLOW_FIRST.filter((f) => !all.includes(f)),
  }
}

function concurrency(): number {
  const v = process.env.TLSMATRIX_TEST_CONCURRENCY
  if (v === undefined || v === '') return DEFAULT_CONCURRENCY
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`TLSMATRIX_TEST_CONCURRENCY must be a whole number ≥ 1, not "${v}"`)
  return n
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const given = process.argv.slice(2)
  const { files, missing } = given.length ? { files: given, missing: [] } : testFiles()
  for (const m of missing) process.stderr.write(`scripts/test.ts: ${m} in SLOW_FIRST no longer exists\n`)
  const at = concurrency()
  const t0 = performance.now()
  const started = new Map<string, number>()
  const took = new Map<string, { ms: number; passed: boolean }>()
  // The children are `node <execArgv> FILE`: this process's `--import tsx` loads TypeScript there too.
  const stream = run({ files: files.map((f) => resolve(f)), concurrency: at })
  const own = (d: { name: string; file?: string }) => (d.file && d.name === d.file ? relative(ROOT, d.file) : null)
  stream.on('test:fail', () => {
    process.exitCode = 1
  })
  stream.on('test:dequeue', (d) => {
    const f = own(d)
    if (f) started.set(f, performance.now() - t0)
  })
  stream.on('test:complete', (d) => {
    const f = own(d)
    if (f) took.set(f, { ms: d.details.duration_ms, passed: d.details.passed })
  })
  // Named: left to inference, @types/node types compose()'s result as any.
  const out = stream.compose<Transform>(new spec())
  out.pipe(process.stdout, { end: false })
  out.once('end', () => {
    const top = [...took].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
    const lines = top.map(([f, t]) => {
      const from = `(at ${Math.round((started.get(f) ?? 0) / 1000)} s)`
      return `${(t.ms / 1000).toFixed(1).padStart(8)} s  ${from.padEnd(11)} ${f}${t.passed ? '' : '  (failed)'}`
    })
    process.stdout.write(
      `\nslowest test files (wall time of each file's process, and when it started; ${took.size} files, ` +
        `${at} at a time, ${Math.round((performance.now() - t0) / 1000)} s in all):\n${lines.join('\n')}\n`,
    )
  })
}
