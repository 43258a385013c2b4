import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CertCache, parseCertificate, toPem } from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import type { ModuleContext } from '../../src/emulator/module.js'
import { connectAndJudge } from '../../src/emulator/secure-connect.js'
import type { RamState } from '../../src/emulator/state.js'
import { loadProfile } from '../../src/families/index.js'
import { parseResolveEntries } from '../../src/hosts/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { predict } from '../../src/predict/index.js'
import { startTestLab } from '../helpers/lab.js'

/**
 * The emulator's way out (connect as the module, judge the served chain) against the lab: its
 * class, lines and logged reason are the predictor's for the chain it was served.
 */
describe('the emulator judges with the predictor', () => {
  let lab: RunningLab
  before(async () => {
    lab = await startTestLab()
  })
  after(async () => lab.close())

  const emulate = async (host: string, caName: string) => {
    const profile = await loadProfile('spwf04sa-1.0.0')
    const log: string[] = []
    const ctx: ModuleContext = {
      profile,
      flash: {
        ca: Buffer.from(toPem(lab.pki.certs.get(caName)!.der)),
        caSki: null,
        cert: null,
        key: null,
        auth: null,
        domain: null,
      },
      ram: {} as RamState,
      net: {
        resolveMap: parseResolveEntries(lab.resolveEntries),
        dnsOff: true,
        clock: systemClock,
        timeoutMs: 15_000,
        cache: new CertCache(),
      },
      wifi: true,
      now: () => new Date(),
      setClock: () => undefined,
      indicate: () => undefined,
      reboot: () => undefined,
      log: (m) => log.push(m),
      stats: { requests: 0, networkMs: 0, handshakeMs: 0 },
    }
    const port = lab.hosts.find((h) => h.name === host)!.port
    const session = await connectAndJudge(ctx, 'HTTPGET', host, port, true, host)
    if (session.ok) session.socket.destroy()
    return { session, log, profile }
  }

  test('an RSA-4096 intermediate: key-unsupported, and the log says which certificate and which limit', async () => {
    const { session, log, profile } = await emulate('rsa4096-int.basic.test', 'root-rsa')
    assert.equal(session.ok, false)
    assert.deepEqual(session.ok ? null : [session.class, session.lines], ['key-unsupported', []])
    const served = ['leaf-rsa4096-int', 'int-rsa4096'].map((n) => parseCertificate(lab.pki.certs.get(n)!.der))
    const p = predict({
      profile,
      served,
      ca: parseCertificate(lab.pki.certs.get('root-rsa')!.der),
      host: 'rsa4096-int.basic.test',
      now: new Date(),
      server: {
        own: { ok: true, protocol: 'TLSv1.2', cipher: null, errorCode: null, errorMessage: null },
        broad: null,
      },
    })
    assert.equal(p.class, 'key-unsupported')
    assert.ok(
      log.some((l) => l.endsWith(`: key-unsupported (${p.reasons[0]!.text})`)),
      log.join('\n'),
    )
    assert.match(
      p.reasons[0]!.text,
      /^intermediate “CN=tlsmatrix Lab Intermediate RSA 4096, O=tlsmatrix lab” has an RSA-4096 key; SPWF04SA 1\.0\.0 accepts RSA keys of 1024–2048 bits$/,
    )
  })

  test('a trusted chain passes with the look-up lines; a wrong CA is untrusted with Skip CA lines and the key id', async () => {
    const good = await emulate('rsa2048.basic.test', 'root-rsa')
    assert.equal(good.session.ok, true)
    assert.deepEqual(good.session.lines, ['AT-S.Skip CA', 'AT-S.Loading:1:2'])
    assert.ok(
      good.log.some((l) => l.endsWith(': pass (trusted)')),
      good.log.join('\n'),
    )
    const wrong = await emulate('rsa2048.basic.test', 'root-untrusted')
    assert.deepEqual(wrong.session.ok ? null : [wrong.session.class, wrong.session.lines], [
      'untrusted',
      ['AT-S.Skip CA', 'AT-S.Skip CA'],
    ])
    const ski = parseCertificate(lab.pki.certs.get('root-untrusted')!.der).info.ski!
    assert.ok(
      wrong.log.some((l) =>
        l.includes(
          `is not the issuer of any certificate the server sends: SPWF04SA 1.0.0 looked for its key id ${ski}`,
        ),
      ),
      wrong.log.join('\n'),
    )
  })

  test('an ECDHE-only server: handshake, through the shared mapping of resolver codes', async () => {
    const { session, log } = await emulate('ecdhe-only.basic.test', 'root-rsa')
    assert.deepEqual(session.ok ? null : session.class, 'handshake')
    assert.ok(
      log.some((l) => /: handshake \(tls-alert:/.test(l)),
      log.join('\n'),
    )
  })
})
