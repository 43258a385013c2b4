import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CertCache, DEFAULT_AIA, DEFAULT_HELLO, loadTrustStore, Resolver } from '../../src/chain/index.js'
import { run } from '../../src/cli/run.js'
import { systemClock } from '../../src/core/clock.js'
import { parseAddressMap } from '../../src/hosts/index.js'
import { readLabSpec, startLab, type RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { testIo } from '../helpers/io.js'
import { labTargets } from '../helpers/lab.js'
import { waitFor } from '../helpers/wait.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-keep-ports-'))

/** Two listeners (the second host has server settings of its own) and an AIA server; small keys, a private cache. */
const KEEP_SPEC = {
  name: 'keep',
  aia: { host: 'aia.keep.test', port: 18496 },
  certificates: {
    root: { subject: 'CN=Keep Root, O=tlsmatrix lab', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
    int: { subject: 'CN=Keep CA, O=tlsmatrix lab', key: 'ec-p256', issuer: 'root', ca: true },
    a: { subject: 'CN=a.keep.test', key: 'ec-p256', issuer: 'int', sans: ['a.keep.test'], aia: true },
    b: { subject: 'CN=b.keep.test', key: 'ec-p256', issuer: 'int', sans: ['b.keep.test'] },
  },
  hosts: {
    'a.keep.test': { certificate: 'a', send: ['a'] },
    'b.keep.test': { certificate: 'b', send: ['b', 'int'], server: { versions: ['TLSv1.2'] } },
  },
}
const keepSpec = join(mkdtempSync(join(dir, 'spec-')), 'keep.json')
writeFileSync(keepSpec, JSON.stringify(KEEP_SPEC))
const keepCache = mkdtempSync(join(dir, 'cache-'))

/** `tlsmatrix lab … --ports FILE` until it serves; returns its output and a stop function. */
async function cliLab(args: string[]) {
  const io = testIo()
  const exit = run(['lab', '--lab-spec', keepSpec, '--cache-dir', keepCache, '--ephemeral', ...args], io)
  let ended = false
  void exit.finally(() => {
    ended = true
  })
  await waitFor(() => io.out().includes('Ctrl-C stops the lab') || ended, 'the lab to start')
  return {
    io,
    exit,
    ended: () => ended,
    stop: async () => {
      io.interrupt()
      assert.equal(await exit, 0, io.err())
    },
  }
}

test('lab --ports FILE: started again, the lab takes the ports it recorded, so hosts.txt (the target ids) is the same', async () => {
  const out = mkdtempSync(join(dir, 'out-'))
  const ports = join(out, 'ports.json')

  const first = await cliLab(['--out', out, '--ports', ports])
  assert.equal(first.ended(), false, first.io.err())
  const hostsBefore = readFileSync(join(out, 'hosts.txt'), 'utf8')
  const recorded = JSON.parse(readFileSync(ports, 'utf8')) as {
    lab: string
    aia: number
    hosts: Record<string, number>
  }
  assert.equal(recorded.lab, 'keep')
  assert.deepEqual(Object.keys(recorded.hosts).sort(), ['a.keep.test', 'b.keep.test'])
  assert.notEqual(recorded.hosts['a.keep.test'], recorded.hosts['b.keep.test'])
  assert.match(first.io.out(), new RegExp(`ports kept: +${ports.replace(/[.\\/]/g, '\\$&')}`))
  // Every host listed in hosts.txt under the port the file recorded for it.
  const rsa = recorded.hosts['a.keep.test']!
  assert.match(hostsBefore, new RegExp(`^a\\.keep\\.test:${rsa}$`, 'm'))
  assert.match(hostsBefore, new RegExp(`^b\\.keep\\.test:${recorded.hosts['b.keep.test']}$`, 'm'))
  await first.stop()

  const second = await cliLab(['--out', out, '--ports', ports])
  assert.equal(second.ended(), false, second.io.err())
  assert.equal(readFileSync(join(out, 'hosts.txt'), 'utf8'), hostsBefore, 'the same targets, the same ids')
  assert.deepEqual(JSON.parse(readFileSync(ports, 'utf8')), recorded)
  // The AIA server too: the certificates name it, so they are the cached ones.
  assert.ok(second.io.out().includes(`--resolve aia.keep.test:${recorded.aia}:127.0.0.1`), second.io.out())
  await second.stop()

  // A recorded port taken by someone else: a clear error naming the port, the host and the file, exit 2.
  const holder = createServer()
  await new Promise<void>((r) => holder.listen(rsa, '127.0.0.1', r))
  try {
    const io = testIo()
    assert.equal(
      await run(
        ['lab', '--lab-spec', keepSpec, '--cache-dir', keepCache, '--ephemeral', '--out', out, '--ports', ports],
        io,
      ),
      2,
    )
    assert.match(
      io.err(),
      new RegExp(
        `LAB_PORT_IN_USE: port ${rsa} on 127\\.0\\.0\\.1, recorded in .*ports\\.json for host a\\.keep\\.test, is in use: stop what holds it`,
      ),
    )
    assert.match(io.err(), /or delete .*ports\.json to take new ports/)
  } finally {
    holder.close()
  }
  // Nothing was left listening by the refused start: the file's other ports are free again.
  const probe = createServer()
  await new Promise<void>((r, reject) => {
    probe.once('error', reject)
    probe.listen(recorded.aia, '127.0.0.1', () => r())
  })
  probe.close()
})

test('lab --ports FILE that is not a ports file of this lab: a usage error naming the file, nothing served', async () => {
  const out = mkdtempSync(join(dir, 'out-'))
  const ports = join(out, 'ports.json')
  writeFileSync(ports, JSON.stringify({ lab: 'other', aia: null, hosts: {} }))
  const io = testIo()
  assert.equal(await run(['lab', '--lab-spec', keepSpec, '--cache-dir', keepCache, '--ports', ports], io), 2)
  assert.match(io.err(), /USAGE: --ports .*ports\.json: it records the ports of lab "other", not "keep"/)
  writeFileSync(ports, '{"lab": "keep", "hosts": {"a.keep.test": 70000}}')
  const io2 = testIo()
  assert.equal(await run(['lab', '--lab-spec', keepSpec, '--cache-dir', keepCache, '--ports', ports], io2), 2)
  assert.match(io2.err(), /hosts\.a\.keep\.test must be a port \(1-65535\)/)
  // A file without the lab's name says so (not "the ports of lab undefined").
  writeFileSync(ports, '{"hosts": {}}')
  const io3 = testIo()
  assert.equal(await run(['lab', '--lab-spec', keepSpec, '--cache-dir', keepCache, '--ports', ports], io3), 2)
  assert.match(io3.err(), /ports\.json: it names no lab \("lab" must be the lab's name, "keep"\)/)
  assert.equal(existsSync(join(out, 'hosts.txt')), false)
})

/** One host the spec gives no `port` (known by its listener's), and a rotation that expires its leaf. */
const NIGHTLY = {
  name: 'nightly',
  certificates: {
    root: { subject: 'CN=Nightly Root, O=tlsmatrix lab', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
    leaf: { subject: 'CN=nightly.test', key: 'ec-p256', issuer: 'root', sans: ['nightly.test'] },
    'leaf-expired': {
      subject: 'CN=nightly.test',
      keyOf: 'leaf',
      issuer: 'root',
      sans: ['nightly.test'],
      notBeforeDays: -60,
      notAfterDays: -1,
    },
  },
  hosts: {
    'nightly.test': {
      certificate: 'leaf',
      send: ['leaf'],
      rotations: [{ certificate: 'leaf-expired', send: ['leaf-expired'] }],
    },
  },
}

test('two nights with the lab restarted in between and --ports: the rotation is a regression of the same target, not a new one', async () => {
  const file = join(mkdtempSync(join(dir, 'spec-')), 'nightly.json')
  writeFileSync(file, JSON.stringify(NIGHTLY))
  const spec = await readLabSpec(file)
  const cacheDir = mkdtempSync(join(dir, 'cache-'))
  const ports = join(mkdtempSync(join(dir, 'ports-')), 'ports.json')
  const db = join(mkdtempSync(join(dir, 'db-')), 'h.db')
  const night = async (rotation: number): Promise<string> => {
    const lab = await startLab(spec, {
      cacheDir,
      outDir: mkdtempSync(join(dir, 'out-')),
      now: new Date(),
      ephemeralPorts: true,
      portsFile: ports,
    })
    try {
      if (rotation) lab.rotate('nightly.test', rotation)
      const io = testIo()
      const code = await run(
        [
          'run',
          '--hosts',
          lab.hostsFile,
          '--trust-store',
          lab.trustStoreFile,
          '--trust-store-only',
          '--db',
          db,
          '--json',
          '--device',
          'emu:spwf04sa-1.1.0?no-dns',
          ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
        ],
        io,
      )
      assert.ok(code === 0 || code === 1, io.err())
      return (JSON.parse(io.out()) as { runId: string }).runId
    } finally {
      await lab.close()
    }
  }
  const tonight = [await night(0), await night(1)]
  const out = mkdtempSync(join(dir, 'report-'))
  const io = testIo()
  const code = await run(
    [
      'report',
      '--db',
      db,
      '--out',
      out,
      '--format',
      'json',
      '--baseline',
      `run:${tonight[0]}`,
      '--candidate',
      `run:${tonight[1]}`,
    ],
    io,
  )
  assert.ok(code === 0 || code === 1, io.err())
  const m = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
  assert.equal(m.targets.length, 1, JSON.stringify(m.targets.map((t) => t.target)))
  const target = m.targets[0]!.target
  assert.deepEqual(
    m.diff!.regressions.map((r) => r.target),
    [target],
  )
  assert.equal(m.diff!.notComparable.length, 0)
  assert.deepEqual(
    m.chainChanges.map((c) => c.target),
    [target],
  )
})

/** A leaf whose intermediate is only reachable through AIA. */
const AIA_SPEC = {
  name: 'stable-aia',
  aia: { host: 'aia.stable.test', port: 18497 },
  certificates: {
    root: { subject: 'CN=Stable AIA Root, O=tlsmatrix lab', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
    int: { subject: 'CN=Stable AIA CA, O=tlsmatrix lab', key: 'ec-p256', issuer: 'root', ca: true },
    leaf: { subject: 'CN=leaf.stable.test', key: 'ec-p256', issuer: 'int', sans: ['leaf.stable.test'], aia: true },
  },
  hosts: { 'leaf.stable.test': { certificate: 'leaf', send: ['leaf'] } },
}

test('stable certificates (the demo): restarted on other free ports, the lab serves the same certificates, its AIA reached through a connect-to entry', async () => {
  const file = join(mkdtempSync(join(dir, 'spec-')), 'stable-aia.json')
  writeFileSync(file, JSON.stringify(AIA_SPEC))
  const spec = await readLabSpec(file)
  const cacheDir = mkdtempSync(join(dir, 'cache-'))
  const start = async (): Promise<RunningLab> =>
    await startLab(spec, {
      cacheDir,
      outDir: mkdtempSync(join(dir, 'out-')),
      now: new Date(),
      ephemeralPorts: true,
      stableCertificates: true,
    })
  const a = await start()
  const aDer = a.pki.certs.get('leaf')!.der
  await a.close()
  const b = await start()
  try {
    assert.equal(b.pki.generated, false, 'the cached certificates')
    assert.deepEqual(b.pki.certs.get('leaf')!.der, aDer)
    // The certificates name the spec's AIA port; the listener is elsewhere (a free port), mapped by a connect-to entry.
    assert.deepEqual(
      b.connectToEntries.map((e) => e.replace(/:\d+$/, ':PORT')),
      ['aia.stable.test:18497:127.0.0.1:PORT'],
    )
    assert.ok(!b.resolveEntries.some((e) => e.startsWith('aia.stable.test:')), b.resolveEntries.join())
    // The missing intermediate is fetched through that entry.
    const cache = new CertCache()
    const resolver = new Resolver({
      store: await loadTrustStore({ files: [b.trustStoreFile], only: true }, cache),
      cache,
      hello: DEFAULT_HELLO,
      timeoutMs: 15_000,
      resolveMap: parseAddressMap({ resolve: b.resolveEntries, connectTo: b.connectToEntries }),
      aia: { ...DEFAULT_AIA, allowPrivate: true },
      clock: systemClock,
      lookup: (host) =>
        Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })),
    })
    const o = await resolver.resolve(labTargets(b).get('leaf.stable.test')!)
    assert.equal(o.error, null, o.error?.message)
    assert.equal(o.served.length, 1)
    assert.ok(o.anchors.length > 0, 'a path to the trusted root, through the intermediate fetched by AIA')
  } finally {
    await b.close()
  }
})
