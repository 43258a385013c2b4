import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { labChainServer, type LabChainServer } from '../helpers/lab-server.js'
import { testIo } from '../helpers/io.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'
import { waitFor } from '../helpers/wait.js'

const GRACE_CLI = fileURLToPath(new URL('../helpers/grace-cli.ts', import.meta.url))

// Issue 20 §6: the first Ctrl-C used to wait for a stalled module until the device time-out (a
// minute, 46 s seen). The request in flight now gets a short grace, then is recorded as not run
// (interrupted, not final) and the run stops, resumable. The grace is injected (Io.stopGraceMs) so
// that the test does not wait the real one out; the stall is the emulator's, counted in commands.

let lab: RunningLab
let dir: string
let second: LabChainServer
let silent: LabChainServer
before(async () => {
  lab = await startTestLab()
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-grace-'))
  // The second target: the lab's rsa2048.basic.test chain on a server that counts requests, so
  // the test knows when the module's HTTPGET for it has gone out.
  second = await labChainServer(lab, 'rsa2048.basic.test', 'the second target\r\n')
  // A server that takes the request and never answers: the module waits for the response.
  silent = await labChainServer(lab, 'rsa2048.basic.test', null)
})
after(async () => {
  await second.close()
  await silent.close()
  await lab.close()
  rmSync(dir, { recursive: true, force: true })
})

test('Ctrl-C during a stalled request: it gets its grace, is recorded not run (interrupted), and --resume does it', async () => {
  const first = lab.hosts.find((h) => h.name === 'rsa2048.basic.test')!.port
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, `rsa2048.basic.test:${first}\nrsa2048.basic.test:${second.port}\n`)
  const db = join(dir, 'grace.db')
  const GRACE_MS = 300
  // Commands as the emulator counts them (bare AT polls are not counted): 0-1 STS, 2-6 prepare
  // (with the resync variable's check), 7 clean, 8 CA, 9 HTTPGET (first target), 10-11 its resync,
  // 12 HTTPGET (second target): the module answers nothing and ignores its input for ten minutes,
  // and the device time-out is ten minutes too. Resumed, the run needs commands 0-11 only (the first
  // target is done), so the resumed module does not stall.
  // A real process (the CLI as main.ts runs it, with the grace given: test/helpers/grace-cli.ts) and a real SIGINT.
  const c = spawnCli(
    [
      String(GRACE_MS),
      'run',
      '--hosts',
      hosts,
      '--device',
      'emu:spwf04sa-1.1.0?no-dns&faults=stall@12,stallMs=600000',
      '--device-timeout-ms',
      '600000',
      '--anchors',
      'first',
      // One target resolved at a time: the device is handed its targets as they resolve, so
      // this keeps the hosts-file order the command counts above rely on, on a busy machine too.
      '--concurrency',
      '1',
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      db,
      '--resolve',
      `rsa2048.basic.test:${second.port}:127.0.0.1`,
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    { entry: GRACE_CLI },
  )
  await waitFor(() => second.requests() === 1, `the module's request for the second target`)
  const stoppedAt = performance.now()
  c.child.kill('SIGINT')
  // Without the grace the process waits for the device time-out, ten minutes (exitOf gives up after one).
  assert.equal(await exitOf(c), 3, c.stderr())
  const took = performance.now() - stoppedAt
  assert.match(c.stderr(), /a request in flight gets 0\.3 s to end/)
  // The grace, the emulator's exit and the closing of the database: seconds, not the ten minutes.
  assert.ok(took < 30_000, `the process ended ${Math.round(took)} ms after Ctrl-C`)
  const runId = /--resume (\S+)/.exec(c.stderr())?.[1]
  assert.ok(runId, c.stderr())

  const read = () => {
    const store = openDb(db)
    try {
      const runs = new RunStore(store, db)
      return { status: runs.getRun(runId)!.status, attempts: runs.attempts(runId) }
    } finally {
      store.close()
    }
  }
  const stopped = read()
  assert.equal(stopped.status, 'interrupted')
  const row = (p: number) =>
    stopped.attempts.filter((a) => a.port === p).map((a) => [a.try, a.final, a.outcome, a.reason?.reason ?? null])
  assert.deepEqual(row(first), [[1, true, 'pass', null]], 'the first target kept its verdict')
  assert.deepEqual(row(second.port), [[1, false, 'not-run', 'interrupted']], 'the stalled request: not run, not final')
  assert.match(
    stopped.attempts.find((a) => a.port === second.port)!.reason!.detail,
    /had not ended 0\.3 s later; --resume runs it again/,
  )

  // Resumed, the interrupted request is made again (try 2) and gets its verdict.
  const again = testIo({ inProcess: true })
  assert.equal(await run(['run', '--resume', runId, '--db', db], again), 0, again.err())
  const resumed = read()
  assert.equal(resumed.status, 'complete')
  assert.deepEqual(
    resumed.attempts.filter((a) => a.port === second.port).map((a) => [a.try, a.final, a.outcome]),
    [
      [1, false, 'not-run'],
      [2, true, 'pass'],
    ],
  )
  assert.equal(second.requests(), 2)
})

test('ESP-AT, a real process: after Ctrl-C the request waiting for its response is abandoned and the process ends', async () => {
  // The ESP-AT driver waits for +IPD data with no command in flight: a stop that closes the port
  // under it must end that wait too, or the process stays up for the whole device time-out. The
  // process is the CLI as main.ts runs it, with a short grace (test/helpers/grace-cli.ts).
  const hosts = join(dir, 'esp-hosts.txt')
  writeFileSync(hosts, `rsa2048.basic.test:${silent.port}\n`)
  const c = spawnCli(
    [
      '200',
      'run',
      '--hosts',
      hosts,
      '--device',
      'emu:esp-at-4.1-esp32?no-dns&request-timeout-ms=600000',
      '--device-timeout-ms',
      '600000',
      '--anchors',
      'first',
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      join(dir, 'esp.db'),
      '--resolve',
      `rsa2048.basic.test:${silent.port}:127.0.0.1`,
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    { entry: GRACE_CLI },
  )
  await waitFor(() => silent.requests() === 1, "the module's request")
  c.child.kill('SIGINT')
  // exitOf gives up (and kills it) after a minute: without the fix it stays up ten.
  assert.equal(await exitOf(c), 3, c.stderr())
  assert.match(c.stderr(), /not run \(interrupted\)/)
})
