import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { run } from '../../src/cli/run.js'
import { EXIT_CODES } from '../../src/core/errors.js'
import { testIo } from '../helpers/io.js'

/** Inputs that cannot hurt: every bad input is exit 2, found before anything is contacted or created. */
describe('inputs are checked before any work', () => {
  let dir: string
  let counter: Server
  let connections = 0
  let hosts: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-inputs-'))
    counter = createServer((s) => {
      connections++
      s.destroy()
    })
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r))
    hosts = join(dir, 'hosts.txt')
    // Resolving this target would connect to the counter: a connection means work started.
    writeFileSync(hosts, `counted.test:${(counter.address() as { port: number }).port}\n`)
  })
  after(() => {
    counter.close()
  })
  const counted = () => ['--resolve', `counted.test:${(counter.address() as { port: number }).port}:127.0.0.1`]

  for (const url of [
    '/dev/ttyUSB9',
    'emu:nonexistent',
    'emu:spwf04sa-1.1.0?bogus=1',
    '/dev/null',
    'emu:spwf04sa-1.1.0?seed=x',
  ]) {
    test(`run --device ${url}: usage error (exit 2) before any target is resolved or run created`, async () => {
      const db = join(dir, `dev-${connections}-${url.replace(/\W/g, '_')}.db`)
      const io = testIo({ inProcess: true })
      const code = await run(['run', '--hosts', hosts, '--device', url, '--db', db, ...counted()], io)
      assert.equal(code, 2, io.err())
      assert.match(io.err(), /TRANSPORT_INVALID/)
      assert.equal(connections, 0, 'no target was resolved')
      assert.equal(existsSync(db), false, 'no database (and so no run) was created')
    })
  }

  test('a broken profile file in --profiles is a usage error naming the file, before anything is resolved', async () => {
    const profiles = join(dir, 'profiles')
    mkdirSync(profiles, { recursive: true })
    writeFileSync(join(profiles, 'stray.json'), '')
    const db = join(dir, 'profiles.db')
    const io = testIo({ inProcess: true })
    const code = await run(
      ['run', '--hosts', hosts, '--device', 'emu:spwf04sa-1.1.0', '--profiles', profiles, '--db', db, ...counted()],
      io,
    )
    assert.equal(code, 2, io.err())
    assert.match(io.err(), /PROFILE_INVALID: .*stray\.json: the file is empty/)
    assert.equal(connections, 0)
    assert.equal(existsSync(db), false)
    writeFileSync(join(profiles, 'stray.json'), '{"id": "x"}')
    const io2 = testIo({ inProcess: true })
    assert.equal(
      await run(
        ['run', '--hosts', hosts, '--device', 'emu:spwf04sa-1.1.0', '--profiles', profiles, '--db', db, ...counted()],
        io2,
      ),
      2,
    )
    assert.match(io2.err(), /stray\.json: module is missing; firmware is missing;/)
  })

  test('--hello: unknown keys and wrong types are exit 2, each named', async () => {
    const hello = join(dir, 'hello.json')
    writeFileSync(
      hello,
      JSON.stringify({ versions: 'TLSv1.2', cipherSuite: ['TLS_RSA_WITH_AES_128_CBC_SHA'], sni: 'yes' }),
    )
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(['resolve', '--hosts', hosts, '--hello', hello, '--db', join(dir, 'hello.db'), ...counted()], io),
      2,
    )
    assert.match(io.err(), /HELLO_INVALID/)
    assert.match(io.err(), /unknown key "cipherSuite"/)
    assert.match(io.err(), /"versions" must be a list of strings/)
    assert.match(io.err(), /"sni" must be true or false/)
    assert.equal(connections, 0)
  })

  test('hosts files: a UTF-8 BOM is accepted, host:443:443 is called what it is, the same host with another sni= is allowed', async () => {
    const file = join(dir, 'bom.txt')
    writeFileSync(file, '\uFEFFa.example:443 sni=a.example\na.example:443 sni=b.example\nb.example:443:443\n')
    const io = testIo({ inProcess: true })
    assert.equal(await run(['resolve', '--hosts', file, '--db', join(dir, 'bom.db')], io), 2)
    assert.doesNotMatch(io.err(), /bom\.txt:1:/, 'the BOM is not part of the first host')
    assert.doesNotMatch(io.err(), /bom\.txt:2:/, 'the same host with another server name is another target')
    assert.match(io.err(), /bom\.txt:3: "b\.example:443:443": more than one port/)
  })

  test('hosts files: at most the first 50 problems are printed, then a count; an oversized file is refused unread', async () => {
    const file = join(dir, 'many.txt')
    writeFileSync(file, Array.from({ length: 120 }, (_, i) => `bad_${i}.example`).join('\n'))
    const io = testIo({ inProcess: true })
    assert.equal(await run(['resolve', '--hosts', file, '--db', join(dir, 'many.db')], io), 2)
    assert.equal(io.err().match(/many\.txt:\d+: /g)?.length, 50)
    assert.match(io.err(), /and 70 more problems not shown/)
    assert.match(io.err(), /120 problems in/)
    const big = join(dir, 'big.txt')
    writeFileSync(big, `${'#'.repeat(1023)}\n`.repeat(5 * 1024))
    const io2 = testIo({ inProcess: true })
    assert.equal(await run(['resolve', '--hosts', big, '--db', join(dir, 'big.db')], io2), 2)
    assert.match(io2.err(), /HOSTS_INVALID: .*big\.txt is \d+ bytes; a hosts file may be at most/)
    // A device has no size to check first: the bound holds while reading (no memory filled).
    if (existsSync('/dev/zero')) {
      const io3 = testIo({ inProcess: true })
      assert.equal(await run(['resolve', '--hosts', '/dev/zero', '--db', join(dir, 'zero.db')], io3), 2)
      assert.match(io3.err(), /HOSTS_INVALID: \/dev\/zero is more than \d+ bytes; a hosts file may be at most/)
    }
  })

  test('probe --ca: a private key or another file is refused before a byte reaches the device; a bundle says which certificate it uses', async () => {
    const device = `tcp://127.0.0.1:${(counter.address() as { port: number }).port}`
    const key = join(dir, 'key.pem')
    writeFileSync(
      key,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    )
    const other = join(dir, 'other.bin')
    writeFileSync(other, 'hello, not a certificate')
    for (const [file, why] of [
      [key, /contains a private key \(PRIVATE KEY\)/],
      [other, /not an X\.509 certificate/],
    ] as const) {
      const io = testIo({ inProcess: true })
      assert.equal(await run(['probe', '--device', device, '--ca', file, '--target', 'a.example'], io), 2)
      assert.match(io.err(), /CA_INVALID/)
      assert.match(io.err(), why)
    }
    assert.equal(connections, 0, 'the device was never opened')
    // A bundle: the note names the certificate used (the device then fails to open: exit 3).
    const bundle = join(dir, 'bundle.pem')
    const { rootCertificates } = await import('node:tls')
    writeFileSync(bundle, `${rootCertificates[0]}\n${rootCertificates[1]}\n`)
    const io = testIo({ inProcess: true })
    await run(['probe', '--device', device, '--ca', bundle, '--target', 'a.example'], io)
    assert.match(io.err(), /holds 2 certificates; uploading the first: .+ \(sha256 [0-9a-f]{16}…\)/)
  })

  test('emulate --listen on a non-loopback address needs --allow-remote', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['emulate', '--firmware', 'spwf04sa-1.1.0', '--listen', 'tcp://0.0.0.0:0'], io), 2)
    assert.match(io.err(), /not a loopback address.*--allow-remote/)
  })

  // Each code is documented with its exit code in docs/exit-codes.md (test/docs/docs.test.ts).
  test('every error code has one exit code (1-3)', () => {
    for (const [code, exit] of Object.entries(EXIT_CODES)) assert.ok([1, 2, 3].includes(exit), code)
  })
})

// Each command's synopsis is checked against its page of docs/ in test/docs/docs.test.ts.

test('`emulate --help` names every family it emulates, not only the SPWF modules', async () => {
  const io = testIo({ inProcess: true })
  assert.equal(await run(['emulate', '--help'], io), 0)
  assert.match(
    io.out().replace(/\s+/g, ' '),
    /run an emulated module \(SPWF04SA, SPWF01SA or ESP-AT, as its profile says\)/,
  )
})
