import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as netConnect } from 'node:net'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { toNodeHello } from '../../src/chain/hello.js'
import { CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES } from '../../src/chain/iana.js'
import { toPem } from '../../src/chain/pem.js'
import { loadAllProfiles } from '../../src/families/index.js'
import { helloOf } from '../../src/profile/profile.js'
import { closedPort, ProbePki, startProbeServer, type ProbeCert, type ProbeServer } from '../../src/learn/lab/index.js'
import { waitFor } from '../helpers/wait.js'

const ADDRESS = '127.0.0.1'

interface Outcome {
  ok: boolean
  error: string | null
  peer: Buffer | null
  body: string | null
  protocol: string | null
}

/** One client connection: handshake, then one HTTP request when it completes. */
async function attempt(server: ProbeServer, opts: Partial<ConnectionOptions>, path = '/'): Promise<Outcome> {
  return await new Promise<Outcome>((resolve) => {
    let socket: TLSSocket | null = null
    let settled = false
    const done = (o: Outcome) => {
      if (settled) return
      settled = true
      socket?.destroy()
      resolve(o)
    }
    socket = connect({ host: ADDRESS, port: server.port, rejectUnauthorized: false, ...opts }, () => {
      const peer = Buffer.from(socket!.getPeerCertificate().raw)
      const protocol = socket!.getProtocol()
      let data = ''
      socket!.setEncoding('latin1')
      socket!.on('data', (d: string) => {
        data += d
        const m = /\r\n\r\n([\s\S]*)$/.exec(data)
        const len = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? -1)
        if (m && m[1]!.length >= len) done({ ok: true, error: null, peer, body: data, protocol })
      })
      socket!.write(`GET ${path} HTTP/1.1\r\nHost: probe.test\r\nConnection: close\r\n\r\n`)
    })
    socket.on('error', (err: Error) => done({ ok: false, error: err.message, peer: null, body: null, protocol: null }))
    socket.on('close', () => done({ ok: false, error: 'closed', peer: null, body: null, protocol: null }))
  })
}

describe('probe server', () => {
  let server: ProbeServer
  let pki: ProbePki
  let root: ProbeCert
  let leaf: ProbeCert
  let other: ProbeCert

  before(async () => {
    server = await startProbeServer({ address: ADDRESS })
    pki = new ProbePki(new Date())
    root = await pki.issue({
      subject: 'CN=probe root, O=tlsmatrix learn',
      key: 'rsa-2048',
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
    leaf = await pki.issue({ subject: 'CN=probe.test', key: 'rsa-2048', issuer: root, sans: ['probe.test'] })
    other = await pki.issue({ subject: 'CN=no-sni.test', key: 'rsa-2048', issuer: root, sans: ['no-sni.test'] })
  })
  after(async () => {
    await server.close()
  })

  test("capture: each shipped profile's hello is read back as the profile says (suites in order, groups, signature schemes, SNI)", async () => {
    const profiles = await loadAllProfiles()
    assert.ok(profiles.length >= 3)
    for (const profile of profiles) {
      for (const sni of [true, false]) {
        server.serve({ kind: 'capture' })
        const hello = helloOf(profile)
        const o = await attempt(server, {
          ...toNodeHello({ ...hello, sni }),
          ...(sni ? { servername: 'probe.test' } : {}),
        })
        assert.equal(o.ok, false, `${profile.id}: a capture never completes`)
        const [c, ...more] = server.connections()
        assert.equal(more.length, 0)
        const h = c!.hello!
        assert.ok(h, `${profile.id}: hello parsed`)
        assert.deepEqual(h.cipherSuites, profile.tls.cipherSuites, `${profile.id}: suites`)
        if (profile.tls.groups.length) assert.deepEqual(h.groups, profile.tls.groups, `${profile.id}: groups`)
        if (profile.tls.signatureAlgorithms.length)
          assert.deepEqual(
            h.signatureAlgorithms,
            profile.tls.signatureAlgorithms,
            `${profile.id}: signature algorithms`,
          )
        assert.equal(h.sni, sni ? 'probe.test' : null)
        assert.equal(h.legacyVersion, 'TLSv1.2')
        assert.equal(c!.completed, false)
        assert.ok(h.extensions.some((e) => e.name === 'signature_algorithms'))
        assert.equal(
          h.extensions.some((e) => e.name === 'server_name'),
          sni,
        )
        // groups [] with RSA key exchange only (spwf04sa-1.0.0): OpenSSL sends no supported_groups at all.
        assert.equal(
          h.extensions.some((e) => e.name === 'supported_groups'),
          profile.tls.groups.length > 0,
          `${profile.id}: supported_groups present iff listed`,
        )
      }
    }
  })

  test('code points agree with OpenSSL: every suite, group and signature scheme name the tool takes is read back as sent', async () => {
    const capture = async (hello: Parameters<typeof toNodeHello>[0]) => {
      server.serve({ kind: 'capture' })
      await attempt(server, toNodeHello(hello))
      return server.connections()[0]!.hello!
    }
    const legacy = Object.keys(CIPHER_SUITES).filter((s) => !s.startsWith('TLS_AES_') && !s.startsWith('TLS_CHACHA20_'))
    const tls12 = await capture({
      versions: ['TLSv1.2'],
      cipherSuites: legacy,
      groups: Object.keys(GROUPS),
      signatureAlgorithms: Object.keys(SIGNATURE_SCHEMES),
      sni: false,
    })
    // OpenSSL 3 may leave out a suite it was built without (3DES); every suite it sends keeps its name.
    assert.deepEqual(
      tls12.cipherSuites,
      legacy.filter((s) => tls12.cipherSuites.includes(s)),
    )
    assert.ok(tls12.cipherSuites.length >= legacy.length - 1, tls12.cipherSuites.join(' '))
    // OpenSSL offers finite-field groups only in a hello that offers TLS 1.3: checked below.
    assert.deepEqual(
      tls12.groups,
      Object.keys(GROUPS).filter((g) => !g.startsWith('ffdhe')),
    )
    assert.deepEqual(tls12.signatureAlgorithms, Object.keys(SIGNATURE_SCHEMES))
    const tls13 = await capture({
      versions: ['TLSv1.3'],
      cipherSuites: [],
      groups: Object.keys(GROUPS),
      signatureAlgorithms: [],
      sni: true,
    })
    assert.deepEqual(tls13.groups, Object.keys(GROUPS))
    assert.deepEqual(tls13.supportedVersions, ['TLSv1.3'])
    assert.deepEqual([...tls13.cipherSuites].sort(), [
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ])
  })

  test('tls, TLSv1 only: a TLSv1.2-only client fails, a TLSv1 client completes and is recorded', async () => {
    server.serve({ kind: 'tls', chain: [leaf.der, root.der], key: leaf.key, versions: ['TLSv1'] })
    const modern = await attempt(server, {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'ALL:@SECLEVEL=0',
      servername: 'probe.test',
    })
    assert.equal(modern.ok, false)
    const old = await attempt(
      server,
      { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0', servername: 'probe.test' },
      '/status/404',
    )
    assert.equal(old.ok, true, String(old.error))
    assert.equal(old.protocol, 'TLSv1')
    assert.match(old.body!, /^HTTP\/1\.1 404/)
    assert.deepEqual(old.peer, leaf.der)
    const [first, second] = server.connections()
    assert.equal(first!.completed, false)
    assert.equal(first!.hello!.supportedVersions, null)
    assert.equal(second!.completed, true)
    assert.equal(second!.protocol, 'TLSv1')
    assert.equal(second!.servername, 'probe.test')
    assert.equal(second!.request, 'GET /status/404 HTTP/1.1 Host: probe.test')
  })

  test('tls, one cipher suite: that suite is negotiated; TLS 1.3 served by default', async () => {
    server.serve({ kind: 'tls', chain: [leaf.der], key: leaf.key, cipherSuites: ['TLS_RSA_WITH_AES_256_CBC_SHA'] })
    const o = await attempt(server, {
      ...toNodeHello({
        versions: ['TLSv1.2'],
        cipherSuites: [
          'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
          'TLS_RSA_WITH_AES_128_CBC_SHA',
          'TLS_RSA_WITH_AES_256_CBC_SHA',
        ],
        groups: [],
        signatureAlgorithms: [],
        sni: true,
      }),
      servername: 'probe.test',
    })
    assert.equal(o.ok, true, String(o.error))
    await waitFor(() => server.connections()[0]?.completed === true, 'the handshake recorded')
    assert.equal(server.connections()[0]!.cipher, 'TLS_RSA_WITH_AES_256_CBC_SHA')

    server.serve({ kind: 'tls', chain: [leaf.der], key: leaf.key })
    const modern = await attempt(server, { servername: 'probe.test' })
    assert.equal(modern.ok, true, String(modern.error))
    await waitFor(() => server.connections()[0]?.completed === true, 'the handshake recorded')
    assert.equal(server.connections()[0]!.protocol, 'TLSv1.3')
    assert.deepEqual(server.connections()[0]!.hello!.supportedVersions, ['TLSv1.3', 'TLSv1.2'])
    assert.match(server.connections()[0]!.cipher!, /^TLS_AES_|^TLS_CHACHA20/)
  })

  test('tls: an RSA-1024 leaf signed with SHA-1 is served over TLSv1.1 (the server is at security level 0)', async () => {
    const weak = await pki.issue({
      subject: 'CN=weak.probe.test',
      key: 'rsa-1024',
      issuer: root,
      signature: 'sha1',
      sans: ['weak.probe.test'],
    })
    server.serve({ kind: 'tls', chain: [weak.der, root.der], key: weak.key, versions: ['TLSv1.1'] })
    const o = await attempt(server, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.2',
      ciphers: 'ALL:@SECLEVEL=0',
      servername: 'weak.probe.test',
    })
    assert.equal(o.ok, true, String(o.error))
    assert.equal(o.protocol, 'TLSv1.1')
    assert.deepEqual(o.peer, weak.der)
  })

  test('tls: an ECDSA leaf under an EC root, verified by the client, with an ECDHE-ECDSA suite', async () => {
    const ecRoot = await pki.issue({
      subject: 'CN=probe ec root',
      key: 'ec-p384',
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
    const ecLeaf = await pki.issue({
      subject: 'CN=ec.probe.test',
      key: 'ec-p256',
      issuer: ecRoot,
      signature: 'sha384',
      sans: ['ec.probe.test'],
    })
    server.serve({ kind: 'tls', chain: [ecLeaf.der, ecRoot.der], key: ecLeaf.key, versions: ['TLSv1.2'] })
    const o = await attempt(server, {
      ...toNodeHello({
        versions: ['TLSv1.2'],
        cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
        groups: ['secp256r1'],
        signatureAlgorithms: [],
        sni: true,
      }),
      servername: 'ec.probe.test',
      rejectUnauthorized: true,
      ca: toPem(ecRoot.der),
    })
    assert.equal(o.ok, true, String(o.error))
    await waitFor(() => server.connections()[0]?.completed === true, 'the handshake recorded')
    assert.equal(server.connections()[0]!.cipher, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256')
  })

  test('tls with noSni: a hello without SNI gets the other chain, one with SNI the main one', async () => {
    server.serve({
      kind: 'tls',
      chain: [leaf.der, root.der],
      key: leaf.key,
      noSni: { chain: [other.der, root.der], key: other.key },
    })
    const without = await attempt(server, {})
    const withSni = await attempt(server, { servername: 'probe.test' })
    assert.deepEqual(without.peer, other.der)
    assert.deepEqual(withSni.peer, leaf.der)
    const [a, b] = server.connections()
    assert.equal(a!.hello!.sni, null)
    assert.equal(a!.servername, null)
    assert.equal(b!.servername, 'probe.test')
  })

  test('stall: the hello is recorded and nothing is answered; garbage is not a hello', async () => {
    server.serve({ kind: 'stall' })
    const client = connect({ host: ADDRESS, port: server.port, rejectUnauthorized: false, servername: 'probe.test' })
    client.on('error', () => {})
    let answered = false
    client.on('secureConnect', () => {
      answered = true
    })
    client.on('data', () => {
      answered = true
    })
    await waitFor(() => server.connections()[0]?.hello != null, 'the stalled hello')
    assert.equal(server.connections()[0]!.hello!.sni, 'probe.test')
    // A capture answered on a later connection: an answer to the earlier hello would be there by now.
    server.serve({ kind: 'capture' })
    const captured = await attempt(server, { servername: 'probe.test' })
    assert.equal(captured.ok, false)
    assert.match(String(captured.error), /handshake failure/)
    assert.equal(answered, false)
    assert.equal(client.destroyed, false)
    client.destroy()

    server.serve({ kind: 'capture' })
    const raw = netConnect(server.port, ADDRESS)
    raw.on('error', () => {})
    raw.write('GET / HTTP/1.1\r\n\r\n')
    await new Promise<void>((resolve) => raw.on('close', () => resolve()))
    assert.equal(server.connections()[0]!.hello, null)
  })

  test('closedPort: nothing listens there', async () => {
    const port = await closedPort(ADDRESS)
    assert.ok(port > 0)
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const s = netConnect(port, ADDRESS)
      s.on('error', resolve)
      s.on('connect', () => {
        s.destroy()
        resolve(Object.assign(new Error('connected'), { code: 'CONNECTED' }))
      })
    })
    assert.equal(err.code, 'ECONNREFUSED')
  })
})
