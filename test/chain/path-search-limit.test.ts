import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { webcrypto } from 'node:crypto'
import {
  CertCache,
  DEFAULT_AIA,
  DEFAULT_HELLO,
  loadTrustStore,
  Resolver,
  SEARCH_LIMITS,
  toPem,
  type Observation,
} from '../../src/chain/index.js'
import { findPaths } from '../../src/chain/paths.js'
import { systemClock } from '../../src/core/clock.js'
import { x509Lib } from '../../src/core/x509.js'
import { loadProfile, planModule } from '../../src/families/index.js'
import { parseResolveEntries } from '../../src/hosts/index.js'
import { startLab, type RunningLab } from '../../src/lab/index.js'
import { resolveBatch } from '../../src/pipeline/index.js'
import { planDevice } from '../../src/plan/index.js'
import { fakeTarget, labResolver, labTargets } from '../helpers/lab.js'
import { meshSpec, serveLabChain } from '../helpers/mesh.js'

// The attack of issue 20 §2: 14 keys with one name, each certifying each other (182 CA
// certificates, ~70 KB, under Node's limit). Unbounded, the path search walked for minutes, took
// gigabytes and never returned to the event loop. Every bound asserted here is a count of work
// or of what is kept, never a duration.

describe('a certificate mesh is searched within bounds', () => {
  let lab: RunningLab
  before(async () => {
    lab = await startLab(meshSpec(14, { anchored: true, anchoredKeys: 8 }), {
      cacheDir: mkdtempSync(join(tmpdir(), 'tlsmatrix-mesh-')),
      now: new Date(),
      ephemeralPorts: true,
    })
  })
  after(async () => {
    await lab?.close()
  })

  test('the search stops at its work limit, records path-search-limit, and the next target still resolves', async () => {
    const targets = labTargets(lab)
    const resolver = await labResolver(lab)
    const recorded: Observation[] = []
    const batch = await resolveBatch([targets.get('mesh-1.test')!, targets.get('next.test')!], resolver, {
      concurrency: 1,
      record: (o) => recorded.push(o),
      clock: systemClock,
    })
    assert.deepEqual(
      recorded.map((o) => o.target),
      batch.observations.map((o) => o.target),
    )
    const [mesh, next] = batch.observations
    assert.equal(mesh?.served.length, 183, 'the whole mesh was served and kept')
    assert.equal(mesh.error?.code, 'path-search-limit', mesh.error?.message)
    assert.match(mesh.error.message, /no path to a trust store found so far/)
    assert.match(mesh.error.message, /"no path" is not concluded/)
    const s = mesh.search!
    assert.ok(['nodes', 'candidates', 'signatures'].includes(s.cut!), `cut by ${s.cut}`)
    assert.ok(s.nodes <= SEARCH_LIMITS.maxNodes, `${s.nodes} partial paths`)
    assert.ok(s.candidates <= SEARCH_LIMITS.maxCandidates, `${s.candidates} candidates`)
    assert.ok(s.signatures <= SEARCH_LIMITS.maxSignatures, `${s.signatures} signatures`)
    // A cut search claims nothing it did not show: no candidate, and no "untrusted" finding
    // about CAs whose trust it could not settle.
    assert.deepEqual(mesh.anchors, [])
    assert.deepEqual(mesh.untrustedAnchors, [])
    assert.equal(next?.error, null)
    assert.equal(next.search?.cut, null)
    assert.deepEqual(
      next.anchors.map((a) => a.cert.info.subject),
      ['CN=Other Root'],
    )

    // The planner does not turn the cut search into "no anchor in the trust store".
    const profile = await loadProfile('spwf04sa-1.1.0')
    const t = targets.get('mesh-1.test')!
    const plan = planDevice(
      'dev',
      planModule(profile),
      [t],
      new Map([[t.id, { device: { obs: mesh, id: null }, broad: { obs: mesh, id: null } }]]),
      { mode: 'all', includeUntrusted: false },
    )
    assert.deepEqual(
      plan.skipped.map((i) => i.skip),
      [{ reason: 'unresolved', detail: 'path-search-limit' }],
    )
  })

  test('what is kept is bounded: complete paths, and partial paths per certificate', async () => {
    const resolver = await labResolver(lab)
    const o = await resolver.resolve(labTargets(lab).get('anchored.test')!)
    // Thousands of paths reach the trusted root; the search keeps maxPaths of them and says so.
    assert.equal(o.search?.cut, 'paths')
    assert.equal(o.search.paths, SEARCH_LIMITS.maxPaths)
    assert.equal(o.error?.code, 'path-search-limit')
    assert.match(o.error.message, new RegExp(`${SEARCH_LIMITS.maxPaths} verified paths kept`))
    // What was found is true and still a candidate: the root in the store.
    const root = o.anchors.find((a) => a.cert.info.subject === 'CN=a Mesh CA' && a.cert.info.selfSigned)
    assert.ok(root?.match.includes('path'), 'the trusted root ends verified paths')
    for (const a of [...o.anchors, ...o.untrustedAnchors]) {
      assert.ok(a.paths.length <= SEARCH_LIMITS.maxPrefixesPerCert, `${a.paths.length} paths kept for one anchor`)
      for (const p of a.paths) assert.ok(p.length <= SEARCH_LIMITS.maxDepth)
    }
  })

  test("the target's time budget ends the search too (the clock is passed in: no waiting)", async () => {
    const cache = new CertCache()
    const store = await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache)
    const spec = lab.spec.hosts['mesh-1.test']!
    const served = spec.send!.map((n) => cache.parse(lab.pki.certs.get(n)!.der))
    // Each reading of the clock is a second later: the deadline, 5 s away, passes at once.
    let t = 0
    const r = await findPaths({
      leaf: served[0]!,
      served,
      store,
      deadline: 5000,
      clock: { monotonic: () => (t += 1000) },
    })
    assert.equal(r.cut, 'time')
    assert.ok(r.work.nodes < SEARCH_LIMITS.maxNodes, `${r.work.nodes} partial paths`)
    assert.equal(r.paths.length, 0)
  })

  test('Ctrl-C (the abort signal) during the search ends it at its next step', async () => {
    const served = await serveLabChain(lab, 'mesh-1.test')
    try {
      const cache = new CertCache()
      const stop = new AbortController()
      const resolver = new Resolver({
        store: await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache),
        cache,
        hello: DEFAULT_HELLO,
        timeoutMs: 60_000,
        resolveMap: parseResolveEntries([`mesh-1.test:${served.port}:127.0.0.1`]),
        aia: null,
        clock: systemClock,
        signal: stop.signal,
      })
      // The resolver closes the connection once it holds the chain, then analyses it: the stop
      // arrives while the search runs, and is only seen if the search gives the event loop a turn.
      void served.closed.then(() => stop.abort())
      const o = await resolver.resolve(fakeTarget('mesh-1.test', served.port))
      assert.equal(o.served.length, 183)
      assert.equal(o.search?.cut, 'aborted')
      assert.equal(o.error?.code, 'aborted')
      assert.ok(o.search.nodes < SEARCH_LIMITS.maxNodes / 4, `${o.search.nodes} partial paths walked after the stop`)
    } finally {
      served.server.close()
    }
  })
})

/** A leaf whose issuer is not sent, with these caIssuers URLs, and its key; the issuer's key is thrown away. */
async function orphanLeaf(host: string, urls: string[]): Promise<{ cert: string; key: string }> {
  const x509 = x509Lib()
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const ca = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const leaf = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0102',
    subject: `CN=${host}`,
    issuer: 'CN=Missing Intermediate',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000 * 30),
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
      new x509.AuthorityInfoAccessExtension({ caIssuers: urls.map((u) => new x509.GeneralName('url', u)) }),
    ],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leaf.privateKey))
  return { cert: toPem(Buffer.from(cert.rawData)), key: toPem(pkcs8, 'PRIVATE KEY') }
}

describe('AIA downloads share one time budget per target', () => {
  let http: HttpServer
  let httpPort: number
  const requests: string[] = []
  const tls: TlsServer[] = []
  before(async () => {
    // /stall-* accept the request and never answer; /gone-* answer 404 at once.
    http = createHttpServer((req, res) => {
      requests.push(req.url ?? '')
      if (req.url?.startsWith('/gone')) res.writeHead(404).end()
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    httpPort = (http.address() as { port: number }).port
  })
  after(() => {
    http.closeAllConnections()
    http.close()
    for (const s of tls) s.close()
  })

  async function serve(host: string, paths: string[]): Promise<number> {
    const { cert, key } = await orphanLeaf(
      host,
      paths.map((p) => `http://aia.test:${httpPort}${p}`),
    )
    const server = createTlsServer({ cert, key }, (s) => s.on('error', () => {}))
    tls.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return (server.address() as { port: number }).port
  }

  async function resolverFor(host: string, port: number, opts: { timeoutMs: number; maxAiaDownloads?: number }) {
    const cache = new CertCache()
    return new Resolver({
      store: await loadTrustStore({ files: [], only: false }, cache),
      cache,
      hello: DEFAULT_HELLO,
      timeoutMs: opts.timeoutMs,
      resolveMap: parseResolveEntries([`${host}:${port}:127.0.0.1`, `aia.test:${httpPort}:127.0.0.1`]),
      // Each download alone may take DEFAULT_AIA's 5 s: only the target's budget stops four of them.
      aia: { ...DEFAULT_AIA, allowPrivate: true },
      clock: systemClock,
      ...(opts.maxAiaDownloads !== undefined ? { maxAiaDownloads: opts.maxAiaDownloads } : {}),
    })
  }

  test('four stalling AIA URLs: the first spends the budget, the rest are not started, and the result says so', async () => {
    const port = await serve('stall.test', ['/stall-1', '/stall-2', '/stall-3', '/stall-4'])
    const resolver = await resolverFor('stall.test', port, { timeoutMs: 1500 })
    const started = performance.now()
    const o = await resolver.resolve(fakeTarget('stall.test', port))
    const stalled = requests.filter((r) => r.startsWith('/stall')).length
    assert.ok(stalled >= 1 && stalled < 4, `${stalled} stalling downloads started`)
    const budget = o.aia.errors.find((e) => /not fetched/.test(e.message))
    assert.ok(budget, JSON.stringify(o.aia.errors))
    assert.equal(budget.code, 'aia-failed')
    assert.match(
      budget.message,
      new RegExp(`^${4 - stalled} AIA URLs? not fetched: the target's --timeout-ms budget \\(1500 ms\\)`),
    )
    assert.equal(o.served.length, 1)
    // A sanity bound only (one download alone may take 5 s; four, 20 s): the counts above are the test.
    assert.ok(performance.now() - started < 12_000)
    // The same chain again: its own budget, its own downloads, not the first target's leftovers.
    const again = await resolver.resolve(fakeTarget('stall.test', port))
    assert.ok(requests.filter((r) => r.startsWith('/stall')).length > stalled, 'the second target downloads too')
    assert.ok(again.aia.errors.some((e) => /not fetched: the target's --timeout-ms budget/.test(e.message)))
  })

  test('a target starts at most maxAiaDownloads downloads', async () => {
    const port = await serve('gone.test', ['/gone-1', '/gone-2', '/gone-3', '/gone-4'])
    const resolver = await resolverFor('gone.test', port, { timeoutMs: 15_000, maxAiaDownloads: 2 })
    const o = await resolver.resolve(fakeTarget('gone.test', port))
    assert.deepEqual(
      requests.filter((r) => r.startsWith('/gone')),
      ['/gone-1', '/gone-2'],
    )
    assert.deepEqual(
      o.aia.errors.map((e) => e.message.replace(/http:\/\/\S+?\/gone-\d/, 'URL')),
      ['AIA URL: HTTP 404', 'AIA URL: HTTP 404', '2 AIA URLs not fetched: at most 2 AIA downloads per target'],
    )
  })
})
