import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { rootCertificates } from 'node:tls'
import { pemBlocks } from '../../src/chain/index.js'
import { fetchAiaCertificates, DEFAULT_AIA } from '../../src/chain/aia.js'
import { isAppError } from '../../src/core/errors.js'
import { parseResolveEntries } from '../../src/hosts/index.js'

const der = pemBlocks(rootCertificates[0]!)[0]!

describe('AIA downloads are bounded', () => {
  let server: Server
  let base: string
  let hits = 0
  before(async () => {
    server = createServer((req, res) => {
      hits++
      if (req.url === '/ok.cer') res.end(der)
      else if (req.url === '/ok.pem') res.end(rootCertificates[0])
      else if (req.url === '/huge') res.end(Buffer.alloc(200_000, 0x30))
      else if (req.url === '/chunked-huge') {
        res.write(Buffer.alloc(40_000))
        res.end(Buffer.alloc(40_000))
      } else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end()
      else if (req.url === '/to-file') res.writeHead(302, { location: 'file:///etc/passwd' }).end()
      else if (req.url === '/stall') res.write('x')
      else if (req.url === '/junk') res.end('not a certificate')
      else res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://aia.test:${(server.address() as { port: number }).port}`
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })
  const opts = () => ({
    ...DEFAULT_AIA,
    // Room for a busy machine on the fetches that succeed; only /stall waits it out.
    timeoutMs: 3000,
    allowPrivate: true,
    resolveMap: parseResolveEntries([`aia.test:${base.split(':')[2]}:127.0.0.1`]),
  })
  const rejects = async (url: string, code: 'AIA_REFUSED' | 'AIA_FAILED', msg: RegExp, o = opts()) =>
    assert.rejects(fetchAiaCertificates(url, o), (err) => isAppError(err, code) && msg.test((err as Error).message))

  test('fetches DER and PEM certificates', async () => {
    assert.deepEqual(await fetchAiaCertificates(`${base}/ok.cer`, opts()), [der])
    assert.deepEqual(await fetchAiaCertificates(`${base}/ok.pem`, opts()), [der])
  })
  test('refuses other schemes before any I/O', async () => {
    const before = hits
    await rejects('ldap://aia.test/cn=x', 'AIA_REFUSED', /scheme ldap: refused/)
    await rejects('file:///etc/passwd', 'AIA_REFUSED', /scheme file: refused/)
    assert.equal(hits, before)
  })
  test('refuses loopback and private addresses unless allowed', async () => {
    const before = hits
    await rejects(`${base}/ok.cer`, 'AIA_REFUSED', /loopback or private/, { ...opts(), allowPrivate: false })
    await rejects('http://10.1.2.3/x.cer', 'AIA_REFUSED', /private/, { ...opts(), allowPrivate: false })
    await rejects('http://[::1]/x.cer', 'AIA_REFUSED', /private/, { ...opts(), allowPrivate: false })
    assert.equal(hits, before)
  })
  test('caps the body at 64 KiB, declared or streamed', async () => {
    await rejects(`${base}/huge`, 'AIA_FAILED', /cap/)
    await rejects(`${base}/chunked-huge`, 'AIA_FAILED', /cap/)
  })
  test('follows few redirects, and checks each hop', async () => {
    await rejects(`${base}/loop`, 'AIA_FAILED', /more than 3 redirects/)
    await rejects(`${base}/to-file`, 'AIA_REFUSED', /scheme file: refused/)
  })
  // Without the bound the download would wait forever: the test's own timeout turns that into a failure.
  test('gives up on a stalled server, saying it timed out', { timeout: 60_000 }, async () => {
    await rejects(`${base}/stall`, 'AIA_FAILED', /timeout|timed out|aborted/i)
  })
  test('a body that is no certificate is an error, not a crash', async () => {
    await rejects(`${base}/junk`, 'AIA_FAILED', /not a certificate/)
  })
})
