import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'
import { waitFor } from '../helpers/wait.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

let lab: RunningLab
before(async () => {
  lab = await startTestLab()
})
after(async () => lab.close())

test(
  'a run holding tcp://127.0.0.1:P makes a run on tcp://localhost:P exit 2 naming the holder, and touches nothing',
  { timeout: 600_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-run-'))
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => ['rsa2048.basic.test', 'cross.basic.test'].includes(h.name))
        .map((h) => `${h.name}:${h.port}`)
        .join('\n'),
    )
    const common = [
      '--hosts',
      hosts,
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--aia-allow-private',
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ]
    // A module on a serial server, slow enough (9600 baud) that the first run is still at work.
    const emulator = spawn(
      process.execPath,
      [
        ...process.execArgv,
        MAIN,
        'emulate',
        '--firmware',
        'spwf04sa-1.1.0',
        '--listen',
        'tcp://127.0.0.1:0',
        '--baud',
        '9600',
        '--no-dns',
        '--exit-with-stdin',
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    )
    try {
      const url = await new Promise<string>((r) => createInterface({ input: emulator.stdout! }).once('line', r))
      const port = Number(/^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(url)![1])
      const first = spawn(
        process.execPath,
        [
          ...process.execArgv,
          MAIN,
          'run',
          ...common,
          '--device',
          `tcp://127.0.0.1:${port}`,
          '--db',
          join(dir, 'first.db'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let stderr = ''
      first.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)))
      try {
        await waitFor(
          () => /run \d{8}-\d{6}-[0-9a-f]{4}: opening/.test(stderr) || first.exitCode !== null,
          'the first run to take its device',
        )
        const runId = /run (\d{8}-\d{6}-[0-9a-f]{4}): opening/.exec(stderr)?.[1]
        assert.ok(runId, stderr)

        const io = testIo()
        assert.equal(
          await run(['run', ...common, '--device', `tcp://localhost:${port}`, '--db', join(dir, 'second.db')], io),
          2,
          io.err(),
        )
        assert.match(
          io.err(),
          new RegExp(
            `tcp://localhost:${port} is in use by run ${runId} \\(pid ${first.pid}, .*as tcp://127\\.0\\.0\\.1:${port}\\)`,
          ),
        )
        // The second run never connected: the serial server would have handed it the line and cut the first run off.
        assert.equal(await exited, 0, stderr)
      } finally {
        if (first.exitCode === null) first.kill('SIGKILL')
      }
    } finally {
      emulator.stdin!.end()
      await new Promise((r) => (emulator.exitCode !== null ? r(null) : emulator.once('exit', r)))
    }
  },
)
