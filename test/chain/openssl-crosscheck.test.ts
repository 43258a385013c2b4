import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { pemBlocks, sha256Hex, type Resolver } from '../../src/chain/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { labResolver, labTargets, startTestLab } from '../helpers/lab.js'

/** What `openssl s_client -showcerts` saw the server send, as fingerprints in order. */
async function opensslChain(port: number, servername: string): Promise<string[]> {
  const child = spawn(
    'openssl',
    ['s_client', '-showcerts', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-tls1_2'],
    { stdio: ['pipe', 'pipe', 'ignore'], timeout: 10_000 },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stdin.end() // EOF on stdin: s_client prints the handshake and exits
  await new Promise((r) => child.once('close', r))
  return pemBlocks(out).map(sha256Hex)
}

describe('cross-check against openssl s_client -showcerts', () => {
  let lab: RunningLab
  let resolver: Resolver
  before(async () => {
    lab = await startTestLab()
    resolver = await labResolver(lab)
  })
  after(async () => lab.close())

  test('for every TLS 1.2 lab host, the captured chain equals what openssl prints', async () => {
    let compared = 0
    for (const [host, target] of labTargets(lab)) {
      const spec = lab.spec.hosts[host]!
      if ((spec.server?.behaviour ?? 'tls') !== 'tls') continue
      const o = await resolver.resolve(target)
      if (o.capture !== 'wire') {
        assert.equal(host, 'tls13-only.basic.test', `${host} was not captured from the wire`)
        continue
      }
      const ours = o.served.map((c) => c.info.sha256)
      const theirs = await opensslChain(target.port, host)
      assert.ok(theirs.length > 0, `openssl printed no certificate for ${host}`)
      assert.deepEqual(ours, theirs, host)
      compared++
    }
    assert.ok(compared >= 12, `compared ${compared} hosts`)
  })
})
