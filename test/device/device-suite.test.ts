import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseCertificate } from '../../src/chain/index.js'
import { openModule, isDeviceError, type OpenedModule } from '../../src/device/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { closedPort, startTestLab } from '../helpers/lab.js'
import { waitFor } from '../helpers/wait.js'

/**
 * One device suite, two backends: the emulator process over a pseudo-terminal (always), and a
 * real module when TLSMATRIX_DEVICE is set (/dev/ttyUSB0?baud=115200). Lab-dependent tests need
 * the module to reach this machine's loopback, so they run on the emulator only.
 */
const hardware = process.env.TLSMATRIX_DEVICE

async function raw(m: OpenedModule, cmd: string, payload?: Buffer) {
  const r = await m.channel.exec(cmd, { timeoutMs: 5000, ...(payload ? { payload } : {}) })
  return [...r.lines, r.final]
}

function wireSuite(name: string, url: () => string, resolve: () => string[]) {
  describe(`${name}: AT interface`, () => {
    let m: OpenedModule
    before(async () => {
      m = await openModule(url(), { resolve: resolve() })
      await m.driver.prepare(new Date())
    })
    after(async () => m.transport.close())

    test('identifies module and firmware from the wire', () => {
      assert.match(m.identity.module, /^SPWF0[14]SA$/)
      assert.match(m.identity.firmware ?? '', /^\d+\.\d+\.\d+$/)
      assert.equal(m.profile.firmware, m.identity.firmware)
      assert.equal(m.profileWarning, null)
    })

    test('every TLSCERT error path', { skip: isSpwf01(name) }, async () => {
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca'), ['AT-S.ERROR:2:Missing argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,10,1'), ['AT-S.ERROR:6:Too many argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,0'), ['AT-S.ERROR:33:Argument evaluated to zero'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,x'), ['AT-S.ERROR:33:Argument evaluated to zero'])
      assert.deepEqual(await raw(m, `AT+S.TLSCERT=ca,${m.profile.store.maxCaBytes + 1}`), ['AT-S.ERROR:32:Argument exceeds allowed size'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=bogus,10'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,3'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,2'), ['AT-S.Clean', 'AT-S.OK'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,1'), ['AT-S.List', 'AT-S.CA:0', 'AT-S.Cert:0', 'AT-S.Key:0', 'AT-S.Id:0', 'AT-S.OK'])
    })

    test('HTTPGET field validation', { skip: isSpwf01(name) }, async () => {
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,2,,,'), ['AT-S.ERROR:2:Missing argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,2,,,,,'), ['AT-S.ERROR:6:Too many argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,3,,,,'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=,/,443,2,,,,'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, `AT+S.HTTPGET=a.test,/,443,2,,,${'f'.repeat(65)},`), ['AT-S.ERROR:7:Invalid argument(s)'])
    })

    test('injection attempts are refused before anything is sent', async () => {
      const before = m.channel.transcript.length
      for (const host of ['a.test\rAT+S.RESET', 'a.test,/,1,0,,,,', 'a.test\0', 'a.test\nAT']) {
        await assert.rejects(m.driver.httpsGet({ host, path: '/', port: 443 }), (e) => isDeviceError(e, 'AT_INVALID_FIELD'), JSON.stringify(host))
      }
      await assert.rejects(m.driver.httpsGet({ host: 'a.test', path: '/a,b', port: 443 }), (e) => isDeviceError(e, 'AT_INVALID_FIELD'))
      await assert.rejects(m.driver.httpsGet({ host: 'a.test', path: '/', port: 0 }), (e) => isDeviceError(e, 'AT_INVALID_FIELD'))
      assert.equal(m.channel.transcript.length, before, 'no byte went out')
    })
  })
}

function isSpwf01(name: string): boolean {
  return name.includes('spwf01')
}

describe('device suite', () => {
  let lab: RunningLab
  let closed: number
  const resolve = () => [...lab.resolveEntries, `closed.basic.test:${closed}:127.0.0.1`]
  const port = (h: string) => lab.hosts.find((x) => x.name === h)!.port
  const der = (n: string) => lab.pki.certs.get(n)!.der
  before(async () => {
    lab = await startTestLab()
    closed = await closedPort()
  })
  after(async () => lab.close())

  for (const fw of ['spwf04sa-1.0.0', 'spwf01sa-3.5.3']) wireSuite(`emulator ${fw}`, () => `emu:${fw}?no-dns`, resolve)
  if (hardware) wireSuite(`hardware ${hardware}`, () => hardware, () => [])
  else test('hardware: skipped, set TLSMATRIX_DEVICE=/dev/ttyUSB0 to run this suite on a real module', { skip: 'no TLSMATRIX_DEVICE' }, () => {})

  describe('emulator spwf04sa-1.0.0 against the lab', () => {
    let m: OpenedModule
    before(async () => {
      // The stalling server costs this long; every other lab request must fit in it even on a busy machine.
      m = await openModule('emu:spwf04sa-1.0.0?no-dns&request-timeout-ms=5000', { resolve: resolve() })
      await m.driver.prepare(new Date())
    })
    after(async () => m.transport.close())

    test('uploads a CA (DER), reports its SubjectKeyId, and passes against a lab server', async () => {
      await m.driver.clean()
      const up = await m.driver.uploadCa(der('root-rsa'))
      assert.equal(up.ski, parseCertificate(der('root-rsa')).info.ski)
      const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/hello', port: port('rsa2048.basic.test') })
      assert.equal(a.outcome, 'pass', JSON.stringify(a.lines))
      assert.equal(a.httpStatus, 200)
      assert.ok(a.bodyBytes > 0)
      assert.deepEqual(a.lines.slice(0, 2), ['AT-S.Skip CA', 'AT-S.Loading:1:2'])
      assert.ok(a.transcript.some((e) => e.dir === 'rx' && e.data.includes('/hello')), 'the body the server sent is in the transcript')
    })

    const cases: Array<[string, string, string, string]> = [
      ['dns', 'nowhere.basic.test', 'root-rsa', '/'],
      ['connect', 'closed.basic.test', 'root-rsa', '/'],
      ['handshake', 'ecdhe-only.basic.test', 'root-rsa', '/'],
      ['untrusted', 'rsa2048.basic.test', 'root-g1', '/'],
      ['key-unsupported', 'rsa4096-int.basic.test', 'root-rsa', '/'],
      ['expired', 'expired.basic.test', 'root-rsa', '/'],
      ['hostname', 'wrong-host.basic.test', 'root-rsa', '/'],
      ['too-large', 'many-sans.basic.test', 'root-rsa', '/'],
      ['http', 'rsa2048.basic.test', 'root-rsa', '/status/404'],
      ['timeout', 'stall.basic.test', 'root-rsa', '/'],
    ]
    for (const [cls, host, ca, path] of cases) {
      test(`a ${cls} failure, classified from the module's lines`, async () => {
        await m.driver.uploadCa(der(ca))
        const p = host === 'closed.basic.test' ? closed : host === 'nowhere.basic.test' ? 443 : port(host)
        const a = await m.driver.httpsGet({ host, path, port: p })
        assert.equal(a.outcome, 'fail')
        assert.equal(a.class, cls, JSON.stringify(a.lines))
        assert.match(a.lines[a.lines.length - 1]!, /^AT-S\.ERROR:/)
        if (cls === 'http') assert.equal(a.httpStatus, 404)
      })
    }
  })

  describe('emulator faults', () => {
    test('indications arriving mid-response change nothing', async () => {
      const m = await openModule('emu:spwf04sa-1.1.0?no-dns&faults=wind=1', { resolve: resolve() })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-ec384'))
        const a = await m.driver.httpsGet({ host: 'ecdsa.basic.test', path: '/', port: port('ecdsa.basic.test') })
        assert.equal(a.outcome, 'pass', JSON.stringify(a.lines))
        const winds = a.transcript.filter((e) => e.dir === 'rx').map((e) => e.data).join('').match(/\+WIND:\d+/g) ?? []
        assert.ok(winds.length >= 1, 'the emulator did inject indications')
        assert.ok(!a.lines.some((l) => l.startsWith('+WIND')))
      } finally {
        await m.transport.close()
      }
    })

    test('a module that stops answering: timeout, reset, resync, and it works again', async () => {
      // Counting every command but the bare AT: 0-1 identify the module, 2-4 prepare it, 5 (clean)
      // is never answered. The stall is shorter than the command timeout, so a slow machine only
      // makes the test slower: the reset always meets a module that listens again.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=stall@5,stallMs=1000', { resolve: resolve() })
      try {
        await m.driver.prepare(new Date())
        await assert.rejects(m.driver.clean(), (e) => isDeviceError(e, 'AT_TIMEOUT'))
        await m.driver.reset()
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        assert.equal((await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })).outcome, 'pass')
      } finally {
        await m.transport.close()
      }
    })

    test('a reboot in the middle of HTTPGET is a device failure, and the module comes back', async () => {
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=reboot@7', { resolve: resolve() })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
        assert.equal(a.class, 'device')
        assert.match(a.deviceError ?? '', /AT_REBOOTED/)
        await m.driver.reset()
        await m.driver.prepare(new Date())
        const again = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
        assert.equal(again.outcome, 'pass', 'the CA survived the reboot in flash')
      } finally {
        await m.transport.close()
      }
    })

    test('corrupted bytes never hang the driver; a reset recovers', async () => {
      // Command 7 is the HTTPGET. If the garbage hits its final line the driver waits for httpMs.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=corrupt@7&seed=7', { resolve: resolve(), timeouts: { httpMs: 20_000 } })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
        // Whatever the garbage hit, the verdict is a pass or a link failure, never a made-up server class.
        assert.ok(a.outcome === 'pass' || a.class === 'device', JSON.stringify(a.lines))
        assert.ok(a.transcript.some((e) => e.dir === 'rx' && /[\x80-\xff]/.test(e.data)), 'the emulator did corrupt the answer')
        await m.driver.reset()
        await m.driver.prepare(new Date())
        assert.equal((await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })).outcome, 'pass')
      } finally {
        await m.transport.close()
      }
    })

    test("the emulator's own errors are kept as transcript notes, never as bytes from the module", async () => {
      // Command 2 is prepare's first: the emulator fails internally and answers nothing.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=internal@2', { resolve: resolve() })
      try {
        await assert.rejects(m.driver.prepare(new Date()), (e) => isDeviceError(e, 'AT_TIMEOUT'))
        const notes = () => m.channel.transcript.entries.filter((e) => e.dir === 'note' && /^emulator: .*internal error injected/.test(e.data))
        await waitFor(() => notes().length > 0, 'the note')
        assert.match(notes()[0]!.data, /AT\+S\.SCFG=console_errs,2/, 'it names the command')
        assert.ok(!m.channel.transcript.entries.some((e) => e.dir === 'rx' && e.data.includes('internal error')))
      } finally {
        await m.transport.close()
      }
    })

    test('without Wi-Fi HTTPGET answers ERROR:44, as the real module does', async () => {
      const m = await openModule('emu:spwf04sa-1.1.0?no-wifi', { resolve: resolve() })
      try {
        const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: 443 })
        assert.deepEqual(a.lines, ['AT-S.ERROR:44:Wait for Connection Up'])
        assert.equal(a.class, 'device')
      } finally {
        await m.transport.close()
      }
    })
  })

  test('the same driver over raw TCP, the way a serial server exposes a module', async () => {
    const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
    const child = spawn(process.execPath, [...process.execArgv, entry, 'emulate', '--firmware', 'spwf04sa-1.1.0', '--listen', 'tcp://127.0.0.1:0', '--exit-with-stdin', '--no-dns', ...resolve().flatMap((r) => ['--resolve', r])], { stdio: ['pipe', 'pipe', 'inherit'] })
    try {
      const url = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r))
      assert.match(url, /^tcp:\/\/127\.0\.0\.1:\d+$/)
      const m = await openModule(url)
      try {
        assert.equal(m.identity.firmware, '1.1.0')
        await m.driver.prepare(new Date())
        await m.driver.uploadCa(der('root-rsa'))
        assert.equal((await m.driver.httpsGet({ host: 'cross.basic.test', path: '/', port: port('cross.basic.test') })).class, 'untrusted', 'cross.basic.test chains to G1/G2, not root-rsa')
      } finally {
        await m.transport.close()
      }
    } finally {
      child.stdin!.end()
      await new Promise((r) => child.once('exit', r))
    }
  })

  describe('emulator spwf01sa-3.5.3 against the lab', () => {
    test('PEM upload, secure socket, pass; and its own error lines classified', async () => {
      const m = await openModule('emu:spwf01sa-3.5.3?no-dns', { resolve: resolve() })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const ok = await m.driver.httpsGet({ host: 'rsa4096-int.basic.test', path: '/', port: port('rsa4096-int.basic.test') })
        assert.equal(ok.outcome, 'pass', JSON.stringify(ok.lines))
        assert.equal(ok.httpStatus, 200)
        const exp = await m.driver.httpsGet({ host: 'expired.basic.test', path: '/', port: port('expired.basic.test') })
        assert.equal(exp.class, 'expired')
        const v13 = await m.driver.httpsGet({ host: 'tls13-only.basic.test', path: '/', port: port('tls13-only.basic.test') })
        assert.equal(v13.class, 'handshake')
      } finally {
        await m.transport.close()
      }
    })
  })
})
