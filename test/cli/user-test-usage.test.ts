import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { readHelloFile } from '../../src/jobs/hello-file.js'
import { DEFAULT_HELLO } from '../../src/chain/index.js'
import { lockDevice } from '../../src/device/index.js'
import { closedPort } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

test("a rejected option value is a tlsmatrix USAGE error, not commander's raw line", async () => {
  for (const argv of [
    ['resolve', '--hosts', 'x', '--timeout-ms', '5'],
    ['run', '--concurrency', '0'],
  ]) {
    const io = testIo()
    assert.equal(await run(argv, io), 2)
    assert.match(io.err(), /^tlsmatrix: USAGE: option '--[a-z-]+ <n>' argument '\d+' is invalid/)
    assert.doesNotMatch(io.err(), /^error:/m)
  }
})

test('emulate --listen with an impossible port is a usage error (exit 2), not INTERNAL', async () => {
  const io = testIo()
  assert.equal(await run(['emulate', '--firmware', 'spwf04sa-1.1.0', '--listen', 'tcp://127.0.0.1:99999'], io), 2)
  assert.match(io.err(), /USAGE: --listen tcp:\/\/127\.0\.0\.1:99999: port must be 0-65535/)
  assert.doesNotMatch(io.err(), /INTERNAL/)
  for (const device of ['tcp://127.0.0.1:99999', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1']) {
    const e = testIo()
    assert.equal(await run(['probe', '--device', device], e), 2, device)
    assert.match(e.err(), /TRANSPORT_INVALID/, device)
  }
})

test('--hello with empty lists means the library default, as README says', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-hello-'))
  const file = join(dir, 'hello.json')
  writeFileSync(file, JSON.stringify({ versions: [], cipherSuites: [], groups: [] }))
  const hello = await readHelloFile(file, true, dir)
  assert.deepEqual(hello.versions, DEFAULT_HELLO.versions)
  assert.deepEqual(hello.cipherSuites, [])
})

test('DEVICE_BUSY is the only word: no wall-time line when no device work happened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-busy-'))
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, `127.0.0.1:${await closedPort()}\n`)
  const device = `tcp://127.0.0.1:${await closedPort()}`
  const release = await lockDevice(device, 'other-run')
  try {
    const io = testIo()
    assert.equal(await run(['run', '--hosts', hosts, '--device', device, '--db', join(dir, 'r.db')], io), 2)
    assert.match(io.err(), /DEVICE_BUSY/)
    assert.doesNotMatch(io.err(), /wall time/)
  } finally {
    release()
  }
})

test('device URLs: only documented forms, and only serial ports, are accepted (exit 2, nothing opened)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-devurl-'))
  const file = join(dir, 'ttyUSB0')
  writeFileSync(file, '')
  const cases: Array<[string, RegExp]> = [
    ['serial:///dev/ttyS0', /expected a serial device path/],
    ['file:///dev/ttyS0', /expected a serial device path/],
    ['/dev/null', /not a serial port/],
    [file, /not a serial port/],
  ]
  if (process.platform === 'linux')
    cases.push(['/dev/tty', /\/dev\/tty is not a serial port \(expected /], ['/dev/zero', /not a serial port/])
  for (const [device, why] of cases) {
    const io = testIo()
    assert.equal(await run(['probe', '--device', device], io), 2, `${device}: ${io.err()}`)
    assert.match(io.err(), /TRANSPORT_INVALID/, device)
    assert.match(io.err(), why, device)
  }
})

test('a chain rebuilt from a TLS 1.3 session says so, not that the server only speaks TLS 1.3', async () => {
  const { rootCertificates } = await import('node:tls')
  const { parseCertificate, pemBlocks } = await import('../../src/chain/index.js')
  const { observationText } = await import('../../src/cli/output/resolve-text.js')
  const cert = parseCertificate(pemBlocks(rootCertificates[0]!)[0]!)
  const text = observationText({
    target: 'x.test:443',
    host: 'x.test',
    port: 443,
    sni: 'x.test',
    observedAt: '',
    ip: '127.0.0.1',
    protocol: 'TLSv1.3',
    cipher: 'c',
    capture: 'reconstructed',
    error: null,
    timings: { dnsMs: 0, connectMs: 0, handshakeMs: 0, totalMs: 0 },
    served: [cert],
    chainHash: 'h',
    anchors: [],
    untrustedAnchors: [],
    aia: { fetched: [], errors: [] },
  })
  assert.doesNotMatch(text, /only speaks/)
  assert.match(text, /rebuilt by Node: the session was TLSv1\.3, whose certificates travel encrypted/)
})
