import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CertCache, DEFAULT_AIA, DEFAULT_HELLO, loadTrustStore, Resolver } from '../../src/chain/index.js'
import { fetchAiaCertificates } from '../../src/chain/aia.js'
import { resolveArgs } from '../../src/cli/output/lab-text.js'
import { run } from '../../src/cli/run.js'
import { systemClock } from '../../src/core/clock.js'
import { isAppError } from '../../src/core/errors.js'
import { parseAddressMap, resolveAddress } from '../../src/hosts/index.js'
import { startLab, validateLabSpec, type RunningLab } from '../../src/lab/index.js'
import { openDb } from '../../src/store/index.js'
import { fakeTarget } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

const noDns = (host: string): Promise<string> =>
  Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }))

test('--connect-to moves address and port, --resolve only the address; the name is the key', async () => {
  const map = parseAddressMap({
    resolve: ['a.test:443:192.0.2.1'],
    connectTo: ['www.Example.test:443:127.0.0.1:8443', 'v6.test:443:[::1]:9443'],
  })
  assert.deepEqual(await resolveAddress('a.test', 443, map, noDns), { address: '192.0.2.1', port: 443 })
  assert.deepEqual(await resolveAddress('WWW.example.test', 443, map, noDns), { address: '127.0.0.1', port: 8443 })
  assert.deepEqual(await resolveAddress('v6.test', 443, map, noDns), { address: '::1', port: 9443 })
  // Another port of the same name is not mapped: it goes to DNS as usual.
  await assert.rejects(resolveAddress('www.example.test', 80, map, noDns), /ENOTFOUND/)
})

const INVALID: Array<[string, RegExp]> = [
  ['www.example.test:443:127.0.0.1', /expected HOST:PORT:ADDR:PORT2/],
  [':443:127.0.0.1:8443', /HOST is empty/],
  ['www.example.test::127.0.0.1:8443', /PORT is empty/],
  ['www.example.test:443:127.0.0.1:', /PORT2 is empty/],
  ['www.example.test:443:127.0.0.1:0', /PORT2 0 is outside 1-65535/],
  ['www.example.test:70000:127.0.0.1:8443', /PORT 70000 is outside/],
  ['www.example.test:443:lab.example.test:8443', /is not an IP address/],
  ['www.example.test:443:::1:8443', /expected HOST:PORT:ADDR:PORT2/],
  ['www.example.test:443:127.0.0.1:8443\r\nAT+S.RESET', /letters, digits/],
  ['www.example.test:443:127.0.0.1:8443,x', /letters, digits/],
  ['www.exa mple.test:443:127.0.0.1:8443', /letters, digits/],
  ['-bad.test:443:127.0.0.1:8443', /HOST: label/],
]

test('invalid --connect-to entries are refused with RESOLVE_MAP_INVALID naming the option and entry', () => {
  for (const [entry, why] of INVALID) {
    assert.throws(
      () => parseAddressMap({ connectTo: [entry] }),
      (err) =>
        isAppError(err, 'RESOLVE_MAP_INVALID') &&
        why.test((err as Error).message) &&
        (err as Error).message.startsWith('--connect-to "'),
      entry,
    )
  }
  // The same host:port mapped two ways is ambiguous, whichever options say it.
  assert.throws(
    () => parseAddressMap({ resolve: ['a.test:443:127.0.0.1'], connectTo: ['a.test:443:127.0.0.1:8443'] }),
    /a\.test:443 is already mapped to 127\.0\.0\.1:443/,
  )
  assert.doesNotThrow(() =>
    parseAddressMap({ resolve: ['a.test:443:127.0.0.1'], connectTo: ['a.test:443:127.0.0.1:443'] }),
  )
})

test('every command taking --connect-to exits 2 on a bad entry, naming it, before any device or database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-connect-to-bad-'))
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, 'www.example.test:443\n')
  const bad = 'www.example.test:443:127.0.0.1:8443\r\nAT+S.RESET'
  const db = join(dir, 'x.db')
  const commands = [
    ['resolve', '--hosts', hosts, '--db', db, '--connect-to', bad],
    ['run', '--hosts', hosts, '--device', 'emu:spwf04sa-1.1.0', '--db', db, '--connect-to', bad],
    ['probe', '--device', 'emu:spwf04sa-1.1.0', '--connect-to', bad],
    ['emulate', '--firmware', 'spwf04sa-1.1.0', '--listen', 'tcp://127.0.0.1:0', '--connect-to', bad],
  ]
  for (const argv of commands) {
    const io = testIo({ inProcess: true })
    assert.equal(await run(argv, io), 2, `${argv[0]}: ${io.err()}`)
    assert.match(
      io.err(),
      /RESOLVE_MAP_INVALID: --connect-to "www\.example\.test:443:127\.0\.0\.1:8443\\r\\nAT\+S\.RESET"/,
      argv[0],
    )
    assert.doesNotMatch(io.err(), /\n\s+at /, 'no stack trace')
  }
  assert.throws(() => readFileSync(db), /ENOENT/, 'no database was created')
})

describe('a target known by its real name and port, served by a lab listener on an ephemeral port', () => {
  let lab: RunningLab
  let dir: string
  let listenPort: number
  before(async () => {
    const spec = validateLabSpec(
      {
        name: 'connect-to',
        certificates: {
          root: { subject: 'CN=connect-to Root', key: 'rsa-2048', issuer: 'self', ca: true, trust: true },
          leaf: { subject: 'CN=www.example.test', key: 'rsa-2048', issuer: 'root', sans: ['www.example.test'] },
        },
        hosts: { 'www.example.test': { certificate: 'leaf', send: ['leaf'], port: 443 } },
      },
      'test',
    )
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-connect-to-'))
    lab = await startLab(spec, { cacheDir: join(dir, 'cache'), now: new Date(), ephemeralPorts: true })
    listenPort = lab.hosts[0]!.listenPort
  })
  after(async () => lab.close())

  test('the lab writes the real name and port, and maps it with --connect-to', () => {
    assert.notEqual(listenPort, 443)
    assert.deepEqual(lab.connectToEntries, [`www.example.test:443:127.0.0.1:${listenPort}`])
    assert.deepEqual(lab.resolveEntries, [])
    assert.match(readFileSync(lab.hostsFile, 'utf8'), /^www\.example\.test:443$/m)
    // What `tlsmatrix lab` prints to resolve it.
    assert.equal(resolveArgs(lab), `--connect-to www.example.test:443:127.0.0.1:${listenPort}`)
  })

  test('capture: the name and port stay www.example.test:443, the connection goes to the listener', async () => {
    const cache = new CertCache()
    const resolver = new Resolver({
      store: await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache),
      cache,
      hello: DEFAULT_HELLO,
      timeoutMs: 15_000,
      resolveMap: parseAddressMap({ connectTo: lab.connectToEntries }),
      aia: DEFAULT_AIA,
      clock: systemClock,
      lookup: noDns,
    })
    const obs = await resolver.resolve(fakeTarget('www.example.test', 443))
    assert.equal(obs.error, null, obs.error?.message)
    assert.deepEqual(
      [obs.target, obs.host, obs.port, obs.sni],
      ['www.example.test:443', 'www.example.test', 443, 'www.example.test'],
    )
    assert.deepEqual([obs.ip, obs.connectPort], ['127.0.0.1', listenPort])
    assert.equal(obs.served[0]!.info.subject, 'CN=www.example.test')
  })

  test('resolve --connect-to: the JSON names the target by its real port and shows where it connected', async () => {
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'resolve',
        '--hosts',
        lab.hostsFile,
        '--db',
        join(dir, 'r.db'),
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--json',
        ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const [o] = JSON.parse(io.out()) as Array<{
      target: string
      port: number
      ip: string
      connectPort: number
      error: unknown
    }>
    assert.deepEqual(
      [o!.target, o!.port, o!.ip, o!.connectPort, o!.error],
      ['www.example.test:443', 443, '127.0.0.1', listenPort, null],
    )
  })

  test('AIA follows --connect-to to the mapped port, and the private-address check judges the address connected to', async () => {
    const der = lab.pki.certs.get('root')!.der
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/pkix-cert')
      res.end(req.headers.host === 'ca.example.test' ? der : '')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const resolveMap = parseAddressMap({
        connectTo: [`ca.example.test:80:127.0.0.1:${(server.address() as { port: number }).port}`],
      })
      const got = await fetchAiaCertificates('http://ca.example.test/root.cer', {
        ...DEFAULT_AIA,
        allowPrivate: true,
        resolveMap,
        lookup: noDns,
      })
      assert.deepEqual(
        got.map((b) => b.toString('hex')),
        [Buffer.from(der).toString('hex')],
      )
      await assert.rejects(
        fetchAiaCertificates('http://ca.example.test/root.cer', {
          ...DEFAULT_AIA,
          allowPrivate: false,
          resolveMap,
          lookup: noDns,
        }),
        (err) => isAppError(err, 'AIA_REFUSED') && /127\.0\.0\.1/.test((err as Error).message),
      )
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  test('run through an emu: device: the module is asked for port 443, the emulator connects to the listener, verdict pass', async () => {
    const io = testIo({ inProcess: true })
    const db = join(dir, 's.db')
    const code = await run(
      [
        'run',
        '--hosts',
        lab.hostsFile,
        '--device',
        'emu:spwf04sa-1.1.0?no-dns',
        '--db',
        db,
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--json',
        ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const j = JSON.parse(io.out()) as {
      runId: string
      attempts: Array<{ target: string; port: number; final: boolean; outcome: string }>
    }
    assert.deepEqual(
      j.attempts.filter((a) => a.final).map((a) => [a.target, a.port, a.outcome]),
      [['www.example.test:443', 443, 'pass']],
    )
    const d = openDb(db)
    try {
      const t = d.prepare("SELECT transcript FROM attempts WHERE run_id = ? AND outcome = 'pass'").get(j.runId) as {
        transcript: string
      }
      assert.match(t.transcript, /AT\+S\.HTTPGET=www\.example\.test,\/,443,/)
    } finally {
      d.close()
    }
  })
})
