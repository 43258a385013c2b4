import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../src/core/paths.js'
import { loadProfile, validateProfile } from '../src/families/index.js'
import { compareLearned } from '../src/learn/index.js'

/**
 * `npm run bench:learn`: learns SPWF04SA 1.1.0 back from its emulator at 115200 baud, the way a
 * user runs it (the built CLI, the emulator on a pseudo-terminal), and prints the wall time, the
 * device time, the uploads and requests, and whether every measured field matches the profile.
 * Goal (issue 10): under 10 minutes of wall time and at most 40 uploads. Figures, not a test.
 */
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-bench-learn-'))
const out = join(dir, 'learned.json')
const started = performance.now()
const child = spawn(
  process.execPath,
  [
    join(PACKAGE_ROOT, 'dist/cli/main.js'),
    'learn',
    '--device',
    'emu:spwf04sa-1.1.0?baud=115200',
    '--out',
    out,
    '--db',
    join(dir, 'learn.db'),
    '--json',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
let stdout = ''
child.stdout.on('data', (d: Buffer) => {
  stdout += d.toString()
})
const code = await new Promise<number | null>((r) => child.once('close', r))
const wallS = (performance.now() - started) / 1000
if (code !== 0) {
  process.stderr.write(`learn exited with ${code}\n`)
  process.exitCode = 1
} else {
  const j = JSON.parse(stdout) as {
    cost: { uploads: number; requests: number; deviceMs: number }
    partial: string | null
  }
  const learned = validateProfile(JSON.parse(readFileSync(out, 'utf8')), out)
  const diff = compareLearned(learned, await loadProfile('spwf04sa-1.1.0'))
  const rows = [
    ['wall time', `${wallS.toFixed(1)} s`, 'goal < 600 s'],
    ['device time', `${(j.cost.deviceMs / 1000).toFixed(1)} s`, ''],
    ['uploads', String(j.cost.uploads), 'goal ≤ 40'],
    ['requests', String(j.cost.requests), ''],
    [
      'fields measured',
      String(Object.values(learned.learned!.fields).filter((f) => f.method !== 'assumed').length),
      '',
    ],
    ['fields differing from spwf04sa-1.1.0', String(diff.length), diff.map((d) => d.field).join(', ')],
  ]
  process.stdout.write(
    `bench:learn — SPWF04SA 1.1.0 emulator at 115200 baud\n${rows.map((r) => `  ${r[0]!.padEnd(38)} ${r[1]!.padStart(10)}  ${r[2]}`).join('\n')}\n`,
  )
}
rmSync(dir, { recursive: true, force: true })
