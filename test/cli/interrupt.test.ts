import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import type { RunningLab } from '../../src/lab/index.js'
import { closedPort, startTestLab } from '../helpers/lab.js'
import { gatedLabTargets, RequestGate } from '../helpers/lab-server.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'
import { waitFor } from '../helpers/wait.js'

const GRACE_CLI = fileURLToPath(new URL('../helpers/grace-cli.ts', import.meta.url))

function count(db: string, sql: string): number {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true })
    try {
      return (d.prepare(sql).get() as { n: number }).n
    } finally {
      d.close()
    }
  } catch {
    return 0
  }
}

function runStatus(db: string, id: string): string | undefined {
  const d = new Database(db, { readonly: true, fileMustExist: true })
  try {
    return (d.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: string } | undefined)?.status
  } finally {
    d.close()
  }
}

/** A server that accepts and never answers; counts connections and notices when the client closes. */
async function stallServer(): Promise<{ server: Server; port: number; opened: () => number; closed: () => number }> {
  let opened = 0
  let closed = 0
  const sockets: Socket[] = []
  const server = createServer((s) => {
    opened++
    sockets.push(s)
    s.on('error', () => {})
    s.on('close', () => {
      closed++
    })
    s.resume()
  })
  server.on('close', () => {
    for (const s of sockets) s.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as { port: number }).port, opened: () => opened, closed: () => closed }
}

/**
 * Forwards a TLS connection to `target` but drops the client's application-data records: the
 * handshake completes (the chain is seen) and the HTTP request never arrives, so a module's
 * HTTPS GET stays in flight for as long as the test needs.
 */
async function swallowingProxy(target: number): Promise<{ server: Server; port: number; requests: () => number }> {
  let requests = 0
  const sockets: Socket[] = []
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    sockets.push(client, upstream)
    client.on('error', () => {})
    upstream.on('error', () => {})
    upstream.pipe(client)
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
    let buf = Buffer.alloc(0)
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 5) {
        const len = 5 + buf.readUInt16BE(3)
        if (buf.length < len) break
        const record = buf.subarray(0, len)
        buf = buf.subarray(len)
        if (record[0] === 23) requests++
        else upstream.write(record)
      }
    })
  })
  server.on('close', () => {
    for (const s of sockets) s.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as { port: number }).port, requests: () => requests }
}

/** Emulator processes started by `parent`. */
function emulators(parent: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(parent), '-f', 'emulate'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function refused(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(true))
  })
}

// End to end, with processes: real SIGINTs to the CLI as users run it, and the emulator processes,
// lab servers and ports it started must be gone after it.
describe('Ctrl-C does what the README says (real processes, SIGINT)', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-sigint-'))
  })

  test('resolve: the first Ctrl-C abandons the connections in flight and exits 3 with what was recorded', async () => {
    const stall = await stallServer()
    try {
      const refused = await closedPort()
      const hosts = join(dir, 'resolve-hosts.txt')
      writeFileSync(hosts, `refused.test:${refused}\nstall-a.test:${stall.port}\nstall-b.test:${stall.port}\n`)
      const db = join(dir, 'resolve.db')
      const c = spawnCli([
        'resolve',
        '--hosts',
        hosts,
        '--db',
        db,
        '--concurrency',
        '1',
        '--timeout-ms',
        '600000',
        '--no-aia',
        '--resolve',
        `refused.test:${refused}:127.0.0.1`,
        '--resolve',
        `stall-a.test:${stall.port}:127.0.0.1`,
        '--resolve',
        `stall-b.test:${stall.port}:127.0.0.1`,
      ])
      // The first target is recorded and the second is waiting on a server that never answers.
      await waitFor(
        () => count(db, 'SELECT count(*) n FROM observations') === 1 && stall.opened() === 1,
        'one recorded target and one in flight',
      )
      c.child.kill('SIGINT')
      // Without abandonment the process would wait 600 s for the stalled handshake.
      assert.equal(await exitOf(c), 3, c.stderr())
      assert.match(c.stderr(), /interrupted: 1 of 3 targets recorded in /)
      assert.equal(
        count(db, 'SELECT count(*) n FROM observations'),
        1,
        'what was recorded stays; nothing half-done is added',
      )
      await waitFor(() => stall.closed() === 1, 'the abandoned connection to be closed')
      assert.equal(stall.opened(), 1, 'no new target started after Ctrl-C')
      assert.doesNotMatch(c.stderr(), /\n\s+at /, 'no stack trace')
    } finally {
      stall.server.close()
    }
  })

  describe('run', () => {
    let lab: RunningLab
    before(async () => {
      lab = await startTestLab()
    })
    after(async () => lab.close())

    test('the first Ctrl-C lets the attempt in flight finish, marks the run interrupted and prints the resume hint (exit 3); its emulators exit', async () => {
      // One request answered, the next held at the gate until the Ctrl-C has been taken: the run
      // is mid-way however fast the machine. The stop grace (test/helpers/grace-cli.ts) outlasts
      // any machine, so the attempt in flight ends because its answer comes, not by the clock.
      const gate = new RequestGate(1)
      const targets = await gatedLabTargets(
        lab,
        ['rsa2048', 'rsa4096-int', 'cross', 'expired', 'extra-cert'].map((n) => `${n}.basic.test`),
        gate,
      )
      try {
        const hosts = join(dir, 'run1-hosts.txt')
        writeFileSync(hosts, targets.hostsText)
        const db = join(dir, 'run1.db')
        const c = spawnCli(
          [
            '600000',
            'run',
            '--hosts',
            hosts,
            '--db',
            db,
            '--trust-store',
            lab.trustStoreFile,
            '--trust-store-only',
            '--aia-allow-private',
            ...[...targets.resolve, ...lab.resolveEntries].flatMap((e) => ['--resolve', e]),
            '--device',
            'emu:spwf04sa-1.1.0?no-dns',
          ],
          { entry: GRACE_CLI },
        )
        await waitFor(() => gate.held() > 0, 'a verdict, then a request held at the gate')
        const started = emulators(c.child.pid!)
        assert.ok(started.length > 0, 'the run started an emulator')
        c.child.kill('SIGINT')
        await waitFor(() => /stopping:/.test(c.stderr()), 'the Ctrl-C to be taken')
        gate.open()
        assert.equal(await exitOf(c), 3, c.stderr())
        const runId = /--resume (\S+)/.exec(c.stderr())?.[1]
        assert.ok(runId, c.stderr())
        assert.equal(runStatus(db, runId), 'interrupted')
        assert.equal(gate.passed(), 2, 'nothing new started after Ctrl-C')
        assert.equal(
          count(db, "SELECT count(*) n FROM attempts WHERE final = 1 AND outcome = 'pass'"),
          2,
          'the request in flight at Ctrl-C got its verdict',
        )
        const planned = (() => {
          const d = new Database(db, { readonly: true })
          const plan = JSON.parse(
            (d.prepare('SELECT plan FROM runs WHERE id = ?').get(runId) as { plan: string }).plan,
          ) as Array<{ skipped: unknown[]; groups: Array<{ items: unknown[] }> }>
          d.close()
          return plan.reduce((n, p) => n + p.skipped.length + p.groups.reduce((m, g) => m + g.items.length, 0), 0)
        })()
        assert.ok(count(db, 'SELECT count(*) n FROM attempts WHERE final = 1') < planned, 'stopped before the end')
        await waitFor(() => !started.some(alive), 'the emulators to exit')
      } finally {
        await targets.close()
      }
    })

    test('lab: Ctrl-C stops the lab and frees its ports', async () => {
      const c = spawnCli(['lab', '--lab-spec', 'data/lab/basic.json', '--ephemeral', '--out', join(dir, 'lab-out')])
      await waitFor(() => /Ctrl-C stops the lab/.test(c.stdout() + c.stderr()), 'the lab to serve')
      const ports = [...(c.stdout() + c.stderr()).matchAll(/\.basic\.test:(\d+)/g)].map((m) => Number(m[1]))
      assert.ok(ports.length > 0)
      assert.equal(await refused(ports[0]!), false, 'the lab answers')
      c.child.kill('SIGINT')
      assert.equal(await exitOf(c), 0, c.stderr())
      for (const port of new Set(ports)) assert.equal(await refused(port), true, `port ${port} is free`)
    })

    test('demo: Ctrl-C stops every process and port it started (exit 3)', async () => {
      const db = join(dir, 'demo.db')
      const c = spawnCli(['demo', '--db', db, '--report', join(dir, 'demo-reports')])
      await waitFor(() => count(db, 'SELECT count(*) n FROM attempts') >= 1, 'the demo survey to start')
      const started = emulators(c.child.pid!)
      const ports = [...c.stderr().matchAll(/\.(?:com|net):(\d+)/g)].map((m) => Number(m[1]))
      assert.ok(ports.length > 0 && started.length > 0, c.stderr())
      c.child.kill('SIGINT')
      assert.equal(await exitOf(c), 3, c.stderr())
      assert.match(c.stderr(), /start the demo again/)
      // The report of what the run found is written even so (or says why there is none).
      assert.ok(
        existsSync(join(dir, 'demo-reports', 'index.html')) || /no report written: /.test(c.stderr()),
        c.stderr(),
      )
      await waitFor(() => !started.some(alive), 'the emulators to exit')
      for (const port of new Set(ports)) assert.equal(await refused(port), true, `port ${port} is free`)
    })

    test('a second Ctrl-C marks the run interrupted and prints the resume hint before leaving (exit 3)', async () => {
      const name = 'rsa2048.basic.test'
      const proxy = await swallowingProxy(lab.hosts.find((h) => h.name === name)!.port)
      try {
        const hosts = join(dir, 'run-hosts.txt')
        writeFileSync(hosts, `${name}:${proxy.port}\n`)
        const db = join(dir, 'run.db')
        const c = spawnCli([
          'run',
          '--hosts',
          hosts,
          '--db',
          db,
          '--trust-store',
          lab.trustStoreFile,
          '--trust-store-only',
          '--aia-allow-private',
          '--resolve',
          `${name}:${proxy.port}:127.0.0.1`,
          ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
          '--device',
          'emu:spwf04sa-1.1.0?no-dns&request-timeout-ms=600000',
          '--device-timeout-ms',
          '600000',
        ])
        // The module's HTTPS request is in flight and will not end by itself.
        await waitFor(() => proxy.requests() > 0, "the module's HTTPS request")
        const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(c.stderr())?.[1]
        assert.ok(runId, c.stderr())
        c.child.kill('SIGINT')
        await waitFor(() => /stopping:/.test(c.stderr()), 'the first Ctrl-C to be acknowledged')
        assert.equal(runStatus(db, runId), 'running', 'the first Ctrl-C waits for the attempt in flight')
        c.child.kill('SIGINT')
        assert.equal(await exitOf(c), 3, c.stderr())
        assert.equal(runStatus(db, runId), 'interrupted')
        assert.match(c.stderr(), new RegExp(`tlsmatrix run --resume ${runId} --db \\S+run\\.db`))
      } finally {
        proxy.server.close()
      }
    })
  })
})
