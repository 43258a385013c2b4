import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { dataPath } from '../../src/core/paths.js'
import { readLabSpec, startLab } from '../../src/lab/index.js'
import { loadOrCreatePki } from '../../src/lab/cache.js'
import { testIo } from '../helpers/io.js'
import { closedPort } from '../helpers/lab.js'
import { labCacheDir, seedFixtureKeys } from '../helpers/lab-keys.js'
import { waitFor } from '../helpers/wait.js'

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })

test('tlsmatrix lab serves until Ctrl-C, prints --resolve mappings and files, then frees its ports', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tlsmatrix-lab-'))
  const io = testIo()
  const cache = labCacheDir(await readLabSpec(dataPath('lab', 'basic.json')))
  const exit = run(
    ['lab', '--lab-spec', dataPath('lab', 'basic.json'), '--ephemeral', '--out', out, '--cache-dir', cache],
    io,
  )
  let ended = false
  void exit.finally(() => {
    ended = true
  })
  await waitFor(() => io.out().includes('Ctrl-C stops the lab') || ended, 'the lab to start')
  assert.match(io.out(), /Ctrl-C stops the lab/, io.err())
  const m = /--resolve rsa2048\.basic\.test:(\d+):127\.0\.0\.1/.exec(io.out())
  assert.ok(m, io.out())
  const port = Number(m[1])
  assert.equal(await reachable(port), true)
  assert.match(
    readFileSync(join(out, 'hosts.txt'), 'utf8'),
    new RegExp(`^rsa2048\\.basic\\.test:${port} tags=rsa$`, 'm'),
  )
  assert.equal(
    readFileSync(join(out, 'trust.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length,
    4,
    'the four lab roots',
  )
  io.interrupt()
  assert.equal(await exit, 0)
  assert.equal(await reachable(port), false)
})

test('an invalid lab spec names every problem and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-spec-'))
  const file = join(dir, 'bad.json')
  writeFileSync(
    file,
    JSON.stringify({
      name: 'bad',
      certificates: { a: { subject: 'CN=a', key: 'rsa-9', issuer: 'nobody' } },
      hosts: { 'x_y.test': { certificate: 'zz' } },
    }),
  )
  const io = testIo()
  assert.equal(await run(['lab', '--lab-spec', file], io), 2)
  assert.match(io.err(), /certificates\.a: key must be one of/)
  assert.match(io.err(), /certificates\.a: issuer "nobody"/)
  assert.match(io.err(), /hosts\.x_y\.test: label/)
  assert.match(io.err(), /hosts\.x_y\.test: certificate must name a certificate/)
})

test('the PKI is cached, and rebuilt when the spec changes', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'tlsmatrix-cache-'))
  const spec = await readLabSpec(dataPath('lab', 'basic.json'))
  seedFixtureKeys(spec, cacheDir)
  // The AIA URL is part of the certificates, so the cache is per AIA base; no server is needed here.
  const aia = 'http://aia.basic.test:18480'
  const first = await loadOrCreatePki(spec, cacheDir, aia, new Date())
  const again = await loadOrCreatePki(spec, cacheDir, aia, new Date())
  assert.equal(first.generated, true)
  assert.equal(again.generated, false)
  assert.deepEqual(again.certs.get('root-rsa')!.der, first.certs.get('root-rsa')!.der)
  const changed = structuredClone(spec)
  changed.certificates['leaf-rsa2048']!.sans = ['rsa2048.basic.test', 'alt.basic.test']
  const rebuilt = await loadOrCreatePki(changed, cacheDir, aia, new Date())
  assert.equal(rebuilt.generated, true)
  assert.notDeepEqual(rebuilt.certs.get('leaf-rsa2048')!.der, first.certs.get('leaf-rsa2048')!.der)
  // Keys are reused: the re-issued root has the same key.
  assert.deepEqual(rebuilt.keys.get('root-rsa')!.spki, first.keys.get('root-rsa')!.spki)
})

test('an ephemeral lab takes no fixed port, the AIA server included, and leaves no per-port certificates behind', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'tlsmatrix-cache-'))
  const spec = structuredClone(await readLabSpec(dataPath('lab', 'basic.json')))
  seedFixtureKeys(spec, join(cacheDir, spec.name))
  const fixed = await closedPort()
  spec.aia = { ...spec.aia!, port: fixed }
  const lab = await startLab(spec, { cacheDir, outDir: join(cacheDir, 'out'), now: new Date(), ephemeralPorts: true })
  try {
    const aiaEntry = lab.resolveEntries.find((e) => e.startsWith(`${spec.aia!.host}:`))!
    assert.notEqual(Number(aiaEntry.split(':')[1]), fixed, 'the spec port was free, and still not taken')
    assert.equal(lab.pki.generated, true)
  } finally {
    await lab.close()
  }
  assert.deepEqual(
    readdirSync(join(cacheDir, spec.name)).filter((f) => f.startsWith('certs-')),
    [],
  )
})

test('processes building one PKI cache at once agree on its keys: the first written wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-race-'))
  const file = join(dir, 'tiny.json')
  writeFileSync(
    file,
    JSON.stringify({
      name: 'tiny',
      certificates: {
        root: { subject: 'CN=Tiny Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
        leaf: { subject: 'CN=a.tiny.test', key: 'ec-p256', issuer: 'root', sans: ['a.tiny.test'] },
      },
      hosts: { 'a.tiny.test': { certificate: 'leaf' } },
    }),
  )
  const spec = await readLabSpec(file)
  const cacheDir = join(dir, 'cache')
  const racers = await Promise.all(Array.from({ length: 4 }, () => loadOrCreatePki(spec, cacheDir, null, new Date())))
  const settled = await loadOrCreatePki(spec, cacheDir, null, new Date())
  assert.equal(settled.generated, false)
  for (const r of racers) {
    for (const [name, key] of r.keys)
      assert.deepEqual(key.spki, settled.keys.get(name)!.spki, `every racer used the key on disk for ${name}`)
  }
  for (const [name, cert] of settled.certs) {
    const spki = new X509Certificate(cert.der).publicKey.export({ type: 'spki', format: 'der' })
    assert.deepEqual(
      spki,
      settled.keys.get(cert.keyName)!.spki,
      `the cached ${name} certificate carries the cached key`,
    )
  }
})
