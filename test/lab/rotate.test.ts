import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CertCache,
  DEFAULT_AIA,
  DEFAULT_HELLO,
  loadTrustStore,
  parseCertificate,
  Resolver,
  type Observation,
} from '../../src/chain/index.js'
import { run } from '../../src/cli/run.js'
import { systemClock } from '../../src/core/clock.js'
import { isAppError } from '../../src/core/errors.js'
import { dataPath } from '../../src/core/paths.js'
import { parseHosts, parseResolveEntries } from '../../src/hosts/index.js'
import { readLabSpec, validateLabSpec, type RunningLab } from '../../src/lab/index.js'
import { testIo } from '../helpers/io.js'
import { fakeTarget, labResolver, labTargets, startTestLab } from '../helpers/lab.js'
import { labCacheDir } from '../helpers/lab-keys.js'
import { waitFor } from '../helpers/wait.js'

const ROTATED = 'rsa2048.basic.test'
/** Hosts that share no listener with the rotated one and must not change with it. */
const OTHERS = [
  'rsa4096-int.basic.test',
  'ecdsa.basic.test',
  'cross.basic.test',
  'out-of-order.basic.test',
  'extra-cert.basic.test',
]

describe('a lab host switched to another chain while it runs', () => {
  let lab: RunningLab
  let resolver: Resolver
  const fp = (name: string) => parseCertificate(lab.pki.certs.get(name)!.der).info.sha256
  const resolveHost = async (host: string): Promise<Observation> => {
    const o = await resolver.resolve(labTargets(lab).get(host)!)
    assert.equal(o.error, null, `${host}: ${o.error?.message}`)
    return o
  }
  const hashes = async (hosts: string[]) =>
    Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, (await resolveHost(h)).chainHash] as const)))

  before(async () => {
    lab = await startTestLab()
    resolver = await labResolver(lab)
  })
  after(async () => {
    await lab.close()
  })

  test('rotation 1 serves the re-issued chain (RSA-4096 intermediate) on the same port; the other hosts keep theirs', async () => {
    const before = await resolveHost(ROTATED)
    assert.deepEqual(
      before.served.map((c) => c.info.sha256),
      [fp('leaf-rsa2048'), fp('int-rsa')],
    )
    const othersBefore = await hashes(OTHERS)
    const port = lab.hosts.find((h) => h.name === ROTATED)!.listenPort

    lab.rotate(ROTATED, 1)
    assert.equal(lab.rotation(ROTATED), 1)
    const after = await resolveHost(ROTATED)
    assert.deepEqual(
      after.served.map((c) => c.info.sha256),
      [fp('leaf-rsa2048-r1'), fp('int-rsa4096')],
    )
    assert.equal(after.served[1]!.info.key.bits, 4096)
    assert.notEqual(after.chainHash, before.chainHash)
    assert.equal(after.connectPort, port, 'the host did not move')
    assert.equal(after.target, before.target)
    // Still a trusted chain: the re-issued leaf verifies up to the same root.
    assert.ok(
      after.anchors.some(
        (a) => a.cert.info.sha256 === fp('root-rsa') && a.paths.some((p) => p.includes(fp('int-rsa4096'))),
      ),
    )
    assert.deepEqual(await hashes(OTHERS), othersBefore)
    lab.rotate(ROTATED, 0)
  })

  test('rotation 2 adds the root to the chain, and rotation 0 brings the original chain back', async () => {
    const original = await resolveHost(ROTATED)
    lab.rotate(ROTATED, 2)
    const withRoot = await resolveHost(ROTATED)
    assert.deepEqual(
      withRoot.served.map((c) => c.info.sha256),
      [fp('leaf-rsa2048'), fp('int-rsa'), fp('root-rsa')],
    )
    assert.notEqual(withRoot.chainHash, original.chainHash)
    lab.rotate(ROTATED, 0)
    assert.equal(lab.rotation(ROTATED), 0)
    assert.equal((await resolveHost(ROTATED)).chainHash, original.chainHash)
  })

  test("a hello without SNI to the rotated host's port gets the rotated chain too", async () => {
    const port = lab.hosts.find((h) => h.name === ROTATED)!.listenPort
    const noSni = await labResolver(lab, { hello: { ...DEFAULT_HELLO, sni: false } })
    assert.equal((await noSni.resolve(fakeTarget('127.0.0.1', port, null))).served[0]!.info.sha256, fp('leaf-rsa2048'))
    lab.rotate(ROTATED, 1)
    try {
      assert.equal(
        (await noSni.resolve(fakeTarget('127.0.0.1', port, null))).served[0]!.info.sha256,
        fp('leaf-rsa2048-r1'),
      )
    } finally {
      lab.rotate(ROTATED, 0)
    }
  })

  test('an unknown host, a hostile host or a rotation the spec lacks is USAGE, and nothing changes', async () => {
    const original = (await resolveHost(ROTATED)).chainHash
    for (const [host, to] of [
      ['nosuch.basic.test', 1],
      ['stall.basic.test', 0],
      [ROTATED, 3],
      [ROTATED, -1],
      [ROTATED, 1.5],
      ['ecdsa.basic.test', 1],
    ] as const) {
      assert.throws(
        () => lab.rotate(host, to),
        (err) => isAppError(err, 'USAGE'),
        `${host}=${to}`,
      )
    }
    assert.equal(lab.rotation(ROTATED), 0)
    assert.equal((await resolveHost(ROTATED)).chainHash, original)
  })
})

describe('rotations in the lab spec', () => {
  test('every bad rotation is named with its JSON path', async () => {
    const spec = structuredClone(await readLabSpec(dataPath('lab', 'basic.json'))) as unknown as {
      hosts: Record<string, Record<string, unknown>>
    }
    spec.hosts['rsa2048.basic.test']!.rotations = [
      { certificate: 'nope' },
      { certificate: 'leaf-rsa2048-r1', send: ['int-rsa4096', 'leaf-rsa2048-r1'] },
      { send: ['leaf-rsa2048', 'missing'] },
      { send: [] },
      { chain: ['leaf-rsa2048'] },
      'leaf-rsa2048',
    ]
    spec.hosts['stall.basic.test']!.rotations = [{ certificate: 'leaf-rsa2048' }]
    spec.hosts['ecdsa.basic.test']!.rotations = { certificate: 'leaf-ecdsa' }
    let message = ''
    assert.throws(
      () => validateLabSpec(spec, 'spec.json'),
      (err) => {
        message = (err as Error).message
        return isAppError(err, 'LAB_SPEC_INVALID')
      },
    )
    const at = 'spec.json: hosts.rsa2048.basic.test.rotations'
    assert.match(message, new RegExp(`${at}\\[0\\]: certificate must name a certificate`.replace(/\./g, '\\.')))
    assert.match(
      message,
      new RegExp(`${at}\\[1\\]: send must start with the rotation's certificate`.replace(/\./g, '\\.')),
    )
    assert.match(message, new RegExp(`${at}\\[2\\]: send: "missing" is not a certificate`.replace(/\./g, '\\.')))
    assert.match(message, new RegExp(`${at}\\[3\\]: send must be a non-empty array`.replace(/\./g, '\\.')))
    assert.match(message, new RegExp(`${at}\\[4\\]: unknown key "chain"`.replace(/\./g, '\\.')))
    assert.match(message, new RegExp(`${at}\\[5\\]: must be an object`.replace(/\./g, '\\.')))
    assert.match(message, /hosts\.stall\.basic\.test\.rotations: only a tls server has a chain to rotate/)
    assert.match(message, /hosts\.ecdsa\.basic\.test\.rotations: must be an array/)
  })
})

describe('tlsmatrix lab --rotate', () => {
  const BASIC = dataPath('lab', 'basic.json')
  // The lab's keys: this process's fixture keys, not the user's data/lab/.cache.
  const cache = async () => labCacheDir(await readLabSpec(BASIC))
  test('serves the chosen rotation from the start and says so', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tlsmatrix-lab-rotate-'))
    const io = testIo()
    const exit = run(
      [
        'lab',
        '--lab-spec',
        BASIC,
        '--ephemeral',
        '--out',
        out,
        '--rotate',
        `${ROTATED}=1`,
        '--cache-dir',
        await cache(),
      ],
      io,
    )
    let ended = false
    void exit.finally(() => {
      ended = true
    })
    await waitFor(() => io.out().includes('Ctrl-C stops the lab') || ended, 'the lab to start')
    try {
      assert.match(io.out(), /rsa2048\.basic\.test:\d+ .*\[rotation 1\]/, io.err())
      const resolveEntries = [...io.out().matchAll(/--resolve (\S+)/g)].map((m) => m[1]!)
      const cache = new CertCache()
      const resolver = new Resolver({
        store: await loadTrustStore({ files: [join(out, 'trust.pem')], only: true }, cache),
        cache,
        hello: DEFAULT_HELLO,
        timeoutMs: 15_000,
        resolveMap: parseResolveEntries(resolveEntries),
        aia: { ...DEFAULT_AIA, allowPrivate: true },
        clock: systemClock,
        lookup: (host) =>
          Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })),
      })
      const { targets } = parseHosts(readFileSync(join(out, 'hosts.txt'), 'utf8'), 'hosts.txt')
      const o = await resolver.resolve(targets.find((t) => t.host === ROTATED)!)
      assert.equal(o.error, null)
      assert.equal(o.served.length, 2)
      assert.equal(o.served[0]!.info.issuer, 'CN=tlsmatrix Lab Intermediate RSA 4096, O=tlsmatrix lab')
      assert.equal(o.served[1]!.info.key.bits, 4096)
    } finally {
      io.interrupt()
    }
    assert.equal(await exit, 0)
  })

  test('a rotation the spec lacks or a malformed entry exits 2 naming it', async () => {
    for (const [entry, why] of [
      [`${ROTATED}=7`, /has rotations 0-2/],
      ['stall.basic.test=1', /no TLS host "stall\.basic\.test"/],
      [`${ROTATED}`, /expected HOST=N/],
    ] as const) {
      const io = testIo()
      assert.equal(
        await run(
          [
            'lab',
            '--lab-spec',
            BASIC,
            '--cache-dir',
            await cache(),
            '--ephemeral',
            '--out',
            mkdtempSync(join(tmpdir(), 'tlsmatrix-lab-rotate-')),
            '--rotate',
            entry,
          ],
          io,
        ),
        2,
        entry,
      )
      assert.match(io.err(), /USAGE/, entry)
      assert.match(io.err(), why, entry)
    }
  })
})
