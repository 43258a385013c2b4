import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { testIo } from '../helpers/io.js'
import { waitFor } from '../helpers/wait.js'
import { closedPort } from '../helpers/lab.js'

// A new user's trial: Ctrl-C while a target was still resolving (a TLS port that accepts and never
// answers) waited out the whole --timeout-ms (43 s after the "stopping" line), and the device
// worker, whose feed the stop had closed, said "done complete" of an interrupted run. A stop now
// abandons the resolutions in flight at once (their sockets closed, nothing recorded for those
// targets), and a worker cut short by it says so.

let dir: string
let server: Server
let port: number
const sockets: Socket[] = []
let opened = 0
let closed = 0
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-stop-resolving-'))
  server = createServer((s) => {
    opened++
    sockets.push(s)
    s.on('error', () => {})
    s.on('close', () => {
      closed++
    })
    s.resume()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as { port: number }).port
})
after(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => server.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

// Without the fix the run waits out --timeout-ms (ten minutes): the test's own time-out fails it.
test(
  'Ctrl-C while a target resolves: the connection is abandoned at once, nothing recorded for it, the run interrupted and resumable',
  { timeout: 60_000 },
  async () => {
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(hosts, `stall.test:${port}\n`)
    const db = join(dir, 'stop.db')
    const io = testIo({ inProcess: true, cwd: dir })
    const code = run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        'emu:spwf04sa-1.1.0?no-dns',
        '--timeout-ms',
        '600000',
        '--db',
        db,
        '--resolve',
        `stall.test:${port}:127.0.0.1`,
      ],
      io,
    )
    // Both ClientHellos (the broad one and the module's) are connected and waiting for an answer.
    await waitFor(() => opened >= 2, 'both resolutions to connect')
    await waitFor(() => /opening 1 device|resolving/.test(io.err()), 'the survey to start')
    io.interrupt()
    assert.equal(await code, 3, io.err())
    // The resolutions' sockets were closed by the stop, not left to the time-out.
    await waitFor(() => closed === opened, 'the resolver to close its connections')
    assert.match(io.err(), /stopping:/)
    assert.doesNotMatch(io.err(), /done complete/, 'a worker cut short by the stop does not say complete')
    assert.match(io.err(), /done interrupted/)
    const runId = /--resume (\S+)/.exec(io.err())?.[1]
    assert.ok(runId, io.err())
    const d = openDb(db)
    try {
      const runs = new RunStore(d, db)
      assert.equal(runs.getRun(runId)!.status, 'interrupted')
      assert.equal(runs.getRun(runId)!.plan, null, 'no plan stored: --resume resolves and plans again')
      assert.deepEqual(runs.attempts(runId), [])
      const n = d.prepare('SELECT count(*) AS n FROM observations').get() as { n: number }
      assert.equal(n.n, 0, 'an abandoned resolution is no observation of the server')
    } finally {
      d.close()
    }
  },
)

// The same trial: `--device tcp://127.0.0.1:1` (connection refused) was reported as a device lost,
// exit 3, with a --resume hint, for a device that never opened. With no device that opens there is
// nothing to survey: the open error itself (TRANSPORT_OPEN_FAILED, exit 3), naming the URL and the
// cause, and no run created (so no resume hint to be false).
// The target stalls: the run must not wait for its resolution either (the test's time-out fails that).
test(
  'no device opens: the open error names the URL and the cause; no run is created, no resume hint',
  { timeout: 60_000 },
  async () => {
    const closed = await closedPort()
    const hosts = join(dir, 'refused-hosts.txt')
    writeFileSync(hosts, `stall.test:${port}\n`)
    const db = join(dir, 'refused.db')
    const io = testIo({ inProcess: true, cwd: dir })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--device',
        `tcp://127.0.0.1:${closed}`,
        '--timeout-ms',
        '600000',
        '--db',
        db,
        '--resolve',
        `stall.test:${port}:127.0.0.1`,
      ],
      io,
    )
    assert.equal(code, 3, io.err())
    assert.match(
      io.err(),
      new RegExp(
        `TRANSPORT_OPEN_FAILED: cannot open device 127\\.0\\.0\\.1:${closed}: tcp://127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED`,
      ),
    )
    assert.match(io.err(), /no run was created/)
    assert.doesNotMatch(io.out() + io.err(), /lost|--resume/)
    const d = openDb(db)
    try {
      assert.equal((d.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 0)
    } finally {
      d.close()
    }
  },
)
