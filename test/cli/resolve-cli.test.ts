import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

describe('tlsmatrix resolve (CLI)', () => {
  let lab: RunningLab
  let dir: string
  let counter: Server
  let connections = 0
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-cli-'))
    counter = createServer((s) => {
      connections++
      s.destroy()
    })
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r))
  })
  after(async () => {
    counter.close()
    await lab.close()
  })
  const labArgs = () => [
    '--trust-store',
    lab.trustStoreFile,
    '--aia-allow-private',
    ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
  ]
  const port = (name: string) => lab.hosts.find((h) => h.name === name)!.port

  test('a bad hosts file: every problem as file:line, exit 2, nothing contacted', async () => {
    const file = join(dir, 'bad.txt')
    const cport = (counter.address() as { port: number }).port
    writeFileSync(file, `127.0.0.1:${cport}\nbad host\nx.example.com:99999\n127.0.0.1:${cport}\n`)
    const io = testIo()
    const code = await run(['resolve', '--hosts', file, '--db', join(dir, 'a.db')], io)
    assert.equal(code, 2)
    assert.match(io.err(), new RegExp(`${file}:2: `))
    assert.match(io.err(), new RegExp(`${file}:3: port 99999`))
    assert.match(io.err(), new RegExp(`${file}:4: duplicate`))
    assert.match(io.err(), /3 problems .* nothing was contacted/)
    assert.equal(connections, 0)
  })

  test('--json: one object per target with the documented names; exit 1 when one fails, all recorded', async () => {
    const file = join(dir, 'hosts.txt')
    writeFileSync(file, `cross.basic.test:${port('cross.basic.test')}\nstall.basic.test:${port('stall.basic.test')}\n`)
    const db = join(dir, 'json.db')
    const io = testIo()
    // The stalled target ends at the time-out; the other must finish well within it on a busy
    // machine (a loopback handshake takes milliseconds; 300 ms was missed once beside two suites).
    const code = await run(['resolve', '--hosts', file, '--db', db, '--json', '--timeout-ms', '4000', ...labArgs()], io)
    assert.equal(code, 1, io.err())
    const json = JSON.parse(io.out()) as Array<Record<string, unknown>>
    assert.equal(json.length, 2)
    type Row = {
      target: string
      capture: string
      error: { code: string } | null
      served: Array<Record<string, unknown> & { sha256: string }>
      anchors: Array<Record<string, unknown> & { kind: string }>
    }
    const [cross, stall] = json as unknown as [Row, Row]
    for (const k of [
      'target',
      'host',
      'port',
      'sni',
      'ip',
      'protocol',
      'cipher',
      'capture',
      'error',
      'served',
      'anchors',
    ])
      assert.ok(k in cross, k)
    assert.equal(cross.target, `cross.basic.test:${port('cross.basic.test')}`)
    assert.equal(cross.capture, 'wire')
    assert.equal(cross.error, null)
    for (const k of [
      'sha256',
      'subject',
      'issuer',
      'ski',
      'aki',
      'key',
      'signature',
      'notBefore',
      'notAfter',
      'derBytes',
    ])
      assert.ok(k in cross.served[0]!, k)
    assert.match(cross.served[0]!.sha256, /^[0-9a-f]{64}$/)
    for (const k of ['sha256', 'subject', 'ski', 'source', 'kind', 'paths']) assert.ok(k in cross.anchors[0]!, k)
    assert.equal(cross.anchors.filter((a) => a.kind === 'root').length, 2)
    assert.equal(stall.error?.code, 'timeout')
    const rows = new Database(db).prepare('SELECT target, error_code FROM observations ORDER BY target').all()
    assert.deepEqual(rows, [
      { target: cross.target, error_code: null },
      { target: stall.target, error_code: 'timeout' },
    ])
    assert.match(io.err(), /\[1\/2\]|\[2\/2\]/, 'plain progress lines when not a TTY')
  })

  test('human output names the chain as sent and the anchors with where they came from', async () => {
    const file = join(dir, 'one.txt')
    writeFileSync(file, `aia.basic.test:${port('aia.basic.test')}\n`)
    const io = testIo()
    const code = await run(['resolve', '--hosts', file, '--db', join(dir, 'h.db'), ...labArgs()], io)
    assert.equal(code, 0, io.err())
    assert.match(io.out(), /chain as sent:\n +#0 CN=aia\.basic\.test/)
    assert.match(io.out(), /intermediate +aia +CN=tlsmatrix Lab Intermediate AIA/)
    assert.match(io.out(), /1 targets: 1 resolved, 0 failed/)
  })

  test('usage and input errors exit 2 with a clear message', async () => {
    const file = join(dir, 'ok.txt')
    writeFileSync(file, 'a.example.com\n')
    const cases: Array<[string[], RegExp]> = [
      [['resolve'], /--hosts/],
      [['resolve', '--hosts', join(dir, 'missing.txt')], /missing\.txt: ENOENT/],
      [['resolve', '--hosts', file, '--resolve', 'a.example.com:443'], /expected HOST:PORT:ADDR/],
      [['resolve', '--hosts', file, '--concurrency', '0'], /between 1 and 1024/],
      [['resolve', '--hosts', file, '--trust-store-only'], /needs at least one --trust-store/],
      [['resolve', '--hosts', file, '--trust-store', file], /no PEM CERTIFICATE/],
      [['nonsense'], /unknown command/],
    ]
    for (const [args, msg] of cases) {
      const io = testIo()
      assert.equal(await run(args, io), 2, args.join(' '))
      assert.match(io.err(), msg, args.join(' '))
    }
  })

  test('a corrupt database is refused before any connection', async () => {
    const file = join(dir, 'c.txt')
    const cport = (counter.address() as { port: number }).port
    writeFileSync(file, `127.0.0.1:${cport}\n`)
    const db = join(dir, 'corrupt.db')
    writeFileSync(db, 'garbage'.repeat(1000))
    const io = testIo()
    assert.equal(await run(['resolve', '--hosts', file, '--db', db], io), 2)
    assert.match(io.err(), /not a tlsmatrix database or is corrupt/)
    assert.equal(connections, 0)
  })
})
