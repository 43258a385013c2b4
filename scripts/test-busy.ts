/**
 * `npm run test:busy [-- RUNS [TEST_FILE...]]`: the suite (or the given files) RUNS times in a row
 * (default 10) while two CPU burners run beside it, the way a shared CI machine is busy. Stops at
 * nothing: every run is counted, then the burners are killed and the exit code is 1 if any failed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const [runsArg, ...files] = process.argv.slice(2)
const runs = Number(runsArg ?? 10)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, not "${runsArg}"`)
const tests =
  files.length > 0
    ? files
    : readdirSync('test', { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) =>
          readdirSync(join('test', d.name))
            .filter((f) => f.endsWith('.test.ts'))
            .map((f) => join('test', d.name, f)),
        )
        .sort()

const burners: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
const stopBurners = () => {
  for (const b of burners) if (b.exitCode === null) b.kill('SIGKILL')
}
process.once('SIGINT', () => {
  stopBurners()
  process.kill(process.pid, 'SIGINT')
})
process.once('exit', stopBurners)

async function main(): Promise<number> {
  let failed = 0
  for (let i = 1; i <= runs; i++) {
    const t = performance.now()
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...tests], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
    const summary = ['pass', 'fail', 'cancelled']
      .map((k) => `${k} ${new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out)?.[1] ?? '?'}`)
      .join(', ')
    if (code !== 0) {
      failed++
      process.stdout.write(
        out
          .split('\n')
          .filter((l) => /^\s*not ok|error:|^\s+(actual|expected):/.test(l))
          .slice(0, 40)
          .join('\n') + '\n',
      )
    }
    process.stdout.write(
      `run ${i}/${runs}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} — ${summary}, ${Math.round((performance.now() - t) / 1000)} s\n`,
    )
  }
  process.stdout.write(`${runs - failed}/${runs} runs passed beside two CPU burners\n`)
  return failed === 0 ? 0 : 1
}

void main().then((code) => {
  stopBurners()
  process.exitCode = code
})
