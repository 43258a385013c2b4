import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'
import { gatedLabTargets, RequestGate } from '../helpers/lab-server.js'
import { tcpEmulator } from '../helpers/tcp-emulator.js'
import { waitFor } from '../helpers/wait.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

let lab: RunningLab
before(async () => {
  lab = await startTestLab()
})
after(async () => lab.close())

// End to end, with processes: the lock is taken by one runner process and refused to another
// runner (this one) on the same machine; the module behind the serial server may be anywhere.
test(
  'a run holding tcp://127.0.0.1:P makes a run on tcp://localhost:P exit 2 naming the holder, and touches nothing',
  { timeout: 600_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-run-'))
    // The first run's requests wait at the gate: it holds its device until the test lets it finish.
    const gate = new RequestGate(0)
    const targets = await gatedLabTargets(lab, ['rsa2048.basic.test', 'cross.basic.test'], gate)
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(hosts, targets.hostsText)
    const common = [
      '--hosts',
      hosts,
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--aia-allow-private',
      ...[...targets.resolve, ...lab.resolveEntries].flatMap((e) => ['--resolve', e]),
    ]
    // A module on a serial server (served by this process).
    const emulator = await tcpEmulator('spwf04sa-1.1.0', {
      resolve: [...targets.resolve, ...lab.resolveEntries],
      params: 'no-dns',
    })
    try {
      const port = Number(/^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(emulator.url)![1])
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
      first.stderr.on('data', (d: Buffer) => {
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
        gate.open()
        assert.equal(await exited, 0, stderr)
      } finally {
        if (first.exitCode === null) first.kill('SIGKILL')
      }
    } finally {
      await emulator.close()
      await targets.close()
    }
  },
)
