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
