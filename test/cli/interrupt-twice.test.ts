import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { rootCertificates } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closedPort } from '../helpers/lab.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'
import { waitFor } from '../helpers/wait.js'

// End to end, with processes: real SIGINTs to the CLI as main.ts runs it, and the exit code the shell sees.

/** Accepts and never answers: a handshake or an HTTPS request stays in flight. */
async function stallServer(): Promise<{ server: Server; port: number; opened: () => number }> {
  let opened = 0
  const sockets: Socket[] = []
  const server = createServer((s) => {
    opened++
    sockets.push(s)
    s.on('error', () => {})
    s.resume()
  })
  server.on('close', () => {
    for (const s of sockets) s.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as { port: number }).port, opened: () => opened }
}

test('resolve: two Ctrl-C in a row exit 3 (README), never 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-sigint2-'))
  const stall = await stallServer()
  try {
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(hosts, `stall.basic.test:${stall.port}\nother.test:${await closedPort()}\n`)
    const c = spawnCli([
      'resolve',
      '--hosts',
      hosts,
      '--db',
      join(dir, 'r.db'),
      '--concurrency',
      '1',
      '--timeout-ms',
      '600000',
      '--no-aia',
      '--resolve',
      `stall.basic.test:${stall.port}:127.0.0.1`,
    ])
    await waitFor(() => stall.opened() === 1, 'the stalled handshake')
    c.child.kill('SIGINT')
    c.child.kill('SIGINT')
    assert.equal(await exitOf(c), 3, c.stderr())
  } finally {
    stall.server.close()
  }
})

test('resolve: two Ctrl-C before the command has started still exit 3', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-sigint2-'))
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, `a.test:${await closedPort()}\n`)
  const c = spawnCli(['resolve', '--hosts', hosts, '--db', join(dir, 'r.db')])
  // The signal handlers are installed once the CLI module runs; it says nothing before.
  await waitFor(() => c.child.pid !== undefined, 'the process')
  await new Promise((r) => setTimeout(r, 0))
  c.child.kill('SIGINT')
  c.child.kill('SIGINT')
  const code = await exitOf(c)
  // Killed by the signal before node installed a handler is the shell's own case, not ours.
  if (code !== 'SIGINT') assert.equal(code, 3, c.stderr())
})

test('probe: the first Ctrl-C abandons the probe and exits 3 with a message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-probe-sigint-'))
  const stall = await stallServer()
  try {
    const ca = join(dir, 'ca.pem')
    writeFileSync(ca, rootCertificates[0]!)
    const c = spawnCli([
      'probe',
      '--device',
      'emu:spwf04sa-1.1.0?no-dns&request-timeout-ms=600000',
      '--ca',
      ca,
      '--target',
      `stall.test:${stall.port}`,
      '--resolve',
      `stall.test:${stall.port}:127.0.0.1`,
    ])
    await waitFor(() => stall.opened() === 1, "the module's HTTPS request in flight")
    c.child.kill('SIGINT')
    assert.equal(await exitOf(c), 3, c.stderr())
    assert.match(c.stderr(), /interrupted: probe abandoned/)
    assert.doesNotMatch(c.stderr(), /\n\s+at /, 'no stack trace')
  } finally {
    stall.server.close()
  }
})
