import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseCertificate } from '../../src/chain/index.js'
import { isDeviceError, type Attempt, type OpenedModule } from '../../src/device/index.js'
import { familyOf, openModule } from '../../src/families/index.js'
import { inProcessEmulator } from '../../src/families/in-process.js'
import type { RunningLab } from '../../src/lab/index.js'
import { closedPort, startTestLab } from '../helpers/lab.js'
import { tcpEmulator } from '../helpers/tcp-emulator.js'
import { waitFor } from '../helpers/wait.js'

/**
 * One device suite, two backends: the emulator of every family, in this process behind the same
 * Transport as a port (always; the emulator process on a pseudo-terminal is the end-to-end tests'),
 * and a real module of any family when TLSMATRIX_DEVICE is set
 * (/dev/ttyUSB0?baud=115200): it is identified on the wire and given its family's checks.
 * Lab-dependent tests need the module to reach this machine's loopback, so they run on the
 * emulator only.
 */
const hardware = process.env.TLSMATRIX_DEVICE

async function raw(m: OpenedModule, cmd: string, payload?: Buffer) {
  const r = await m.channel.exec(cmd, { timeoutMs: 5000, ...(payload ? { payload } : {}) })
  return [...r.lines, r.final]
}

/** The bytes the module sent since a transcript mark, as one string. */
function rxSince(m: OpenedModule, mark: number): string {
  return m.channel.transcript
    .since(mark)
    .filter((e) => e.dir === 'rx')
    .map((e) => e.data)
    .join('')
}

/** A check of one family's own commands, run on whatever module of that family is attached. */
interface WireCheck {
  dialect: string
  name: string
  run(m: OpenedModule, ca: Buffer): Promise<void>
}

const WIRE_CHECKS: WireCheck[] = [
  {
    dialect: 'spwf04',
    name: 'every TLSCERT error path',
    async run(m) {
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca'), ['AT-S.ERROR:2:Missing argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,10,1'), ['AT-S.ERROR:6:Too many argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,0'), ['AT-S.ERROR:33:Argument evaluated to zero'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=ca,x'), ['AT-S.ERROR:33:Argument evaluated to zero'])
      assert.deepEqual(await raw(m, `AT+S.TLSCERT=ca,${m.profile.store.maxCaBytes + 1}`), [
        'AT-S.ERROR:32:Argument exceeds allowed size',
      ])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=bogus,10'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,3'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,2'), ['AT-S.Clean', 'AT-S.OK'])
      assert.deepEqual(await raw(m, 'AT+S.TLSCERT=content,1'), [
        'AT-S.List',
        'AT-S.CA:0',
        'AT-S.Cert:0',
        'AT-S.Key:0',
        'AT-S.Id:0',
        'AT-S.OK',
      ])
    },
  },
  {
    dialect: 'spwf04',
    name: 'HTTPGET field validation',
    async run(m) {
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,2,,,'), ['AT-S.ERROR:2:Missing argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,2,,,,,'), ['AT-S.ERROR:6:Too many argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=a.test,/,443,3,,,,'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, 'AT+S.HTTPGET=,/,443,2,,,,'), ['AT-S.ERROR:7:Invalid argument(s)'])
      assert.deepEqual(await raw(m, `AT+S.HTTPGET=a.test,/,443,2,,,${'f'.repeat(65)},`), [
        'AT-S.ERROR:7:Invalid argument(s)',
      ])
    },
  },
  {
    dialect: 'esp-at',
    name: 'echo: on after ATE1 (the channel reads past it), off again after ATE0',
    async run(m) {
      assert.deepEqual(await raw(m, 'ATE1'), ['OK'])
      let mark = m.channel.transcript.length
      assert.deepEqual(
        await raw(m, 'AT+SYSLOG?'),
        ['+SYSLOG:1', 'OK'],
        'prepare turned SYSLOG on; the echo is not a line of the answer',
      )
      assert.match(rxSince(m, mark), /^AT\+SYSLOG\?\r\n/, 'the module echoed the command')
      assert.deepEqual(await raw(m, 'ATE0'), ['OK'])
      mark = m.channel.transcript.length
      assert.deepEqual(await raw(m, 'AT'), ['OK'])
      assert.equal(rxSince(m, mark), '\r\nOK\r\n')
    },
  },
  {
    dialect: 'esp-at',
    name: 'error paths: ERR CODE (SYSLOG=1) before ERROR for an unknown command and a bad parameter; a release without CIPSSLCCIPHER refuses it',
    async run(m) {
      assert.deepEqual(await raw(m, 'AT+TLSMATRIXNOPE'), ['ERR CODE:0x01090000', 'ERROR'])
      const bad = await raw(m, 'AT+SYSTIMESTAMP=x')
      assert.equal(bad.at(-1), 'ERROR')
      assert.match(bad[0]!, /^ERR CODE:0x010[4-8][0-9a-f]{4}$/, 'a parameter error (subcategories 04-08)')
      const cipher = await raw(m, 'AT+CIPSSLCCIPHER?')
      if (!(m.profile as unknown as { esp: { cipherCommand: boolean } }).esp.cipherCommand)
        assert.deepEqual(cipher, ['ERR CODE:0x01090000', 'ERROR'])
    },
  },
  {
    dialect: 'esp-at',
    name: 'the clock prepare set reads back with AT+SYSTIMESTAMP?',
    async run(m) {
      const set = Date.now()
      await m.driver.prepare(new Date(set))
      const [line, final] = await raw(m, 'AT+SYSTIMESTAMP?')
      assert.equal(final, 'OK')
      const t = Number(/^\+SYSTIMESTAMP:(\d+)$/.exec(line ?? '')?.[1]) * 1000
      assert.ok(t >= set - 1000 && t <= Date.now() + 1000, `${line}: between ${new Date(set).toISOString()} and now`)
    },
  },
  {
    dialect: 'esp-at',
    name: "the CA store: its write command's own limit (no prompt), then an upload CIPSSLCCONF points at",
    async run(m, ca) {
      const esp = (m.profile as unknown as { esp: { caStore: string } }).esp
      const mark = m.channel.transcript.length
      const over =
        esp.caStore === 'sysmfg' ? 'AT+SYSMFG=2,"client_ca","client_ca.0",8,8192' : 'AT+SYSFLASH=1,"client_ca",0,4097'
      const r = await raw(m, over)
      assert.equal(r.at(-1), 'ERROR', over)
      assert.ok(!rxSince(m, mark).includes('>'), 'no prompt: the module waits for no payload')
      assert.deepEqual(await raw(m, 'AT'), ['OK'], 'and it listens to the next command')
      await m.driver.clean()
      const up = await m.driver.uploadCa(ca)
      assert.match(
        up.command,
        esp.caStore === 'sysmfg'
          ? /^AT\+SYSMFG=2,"client_ca","client_ca\.0",8,\d+$/
          : /^AT\+SYSFLASH=1,"client_ca",0,\d+$/,
      )
      assert.deepEqual(await raw(m, 'AT+CIPSSLCCONF?'), ['+CIPSSLCCONF:2,0,0', 'OK'])
      if (esp.caStore === 'sysmfg')
        assert.deepEqual(await raw(m, 'AT+SYSMFG=1,"client_ca"'), ['+SYSMFG:"client_ca","client_ca.0",8', 'OK'])
      else
        assert.ok(
          (await raw(m, 'AT+SYSFLASH?')).some((l) => /^\+SYSFLASH:"client_ca",/.test(l)),
          'the partition the image went to exists',
        )
    },
  },
]

function wireSuite(name: string, url: () => string, resolve: () => string[], ca: () => Buffer, dialect: string | null) {
  describe(`${name}: AT interface`, () => {
    let m: OpenedModule
    before(async () => {
      m = await openModule(url(), { resolve: resolve(), emulator: inProcessEmulator })
      await m.driver.prepare(new Date())
    })
    after(async () => m.transport.close())

    test('identifies module and firmware from the wire', () => {
      assert.ok(
        familyOf(m.identity.dialect).modules.includes(m.identity.module),
        `${m.identity.module} is a ${m.identity.dialect} module`,
      )
      if (dialect) assert.equal(m.identity.dialect, dialect)
      assert.match(m.identity.firmware ?? '', /^\d+\.\d+\.\d+$/)
      assert.equal(m.profile.firmware, m.identity.firmware)
      assert.equal(m.profileWarning, null)
    })

    // An emulator's family is known from its profile; a module on a port is asked first.
    for (const check of WIRE_CHECKS.filter((c) => dialect === null || c.dialect === dialect)) {
      test(`${check.dialect}: ${check.name}`, async (t) => {
        if (m.identity.dialect !== check.dialect)
          return t.skip(`${check.dialect} only; this module is ${m.identity.dialect}`)
        await check.run(m, ca())
      })
    }

    test('injection attempts are refused before anything is sent', async () => {
      const before = m.channel.transcript.length
      for (const host of [
        'a.test\rAT+S.RESET',
        'a.test\r\nAT+RST',
        'a.test,/,1,0,,,,',
        'a.test","x',
        'a.test\0',
        'a.test\nAT',
      ]) {
        await assert.rejects(
          m.driver.httpsGet({ host, path: '/', port: 443 }),
          (e) => isDeviceError(e, 'AT_INVALID_FIELD'),
          JSON.stringify(host),
        )
      }
      for (const path of ['/a,b', '/a\r\nAT', '/a b']) {
        await assert.rejects(
          m.driver.httpsGet({ host: 'a.test', path, port: 443 }),
          (e) => isDeviceError(e, 'AT_INVALID_FIELD'),
          JSON.stringify(path),
        )
      }
      await assert.rejects(m.driver.httpsGet({ host: 'a.test', path: '/', port: 0 }), (e) =>
        isDeviceError(e, 'AT_INVALID_FIELD'),
      )
      assert.equal(m.channel.transcript.length, before, 'no byte went out')
    })
  })
}

const dialectOf = (fw: string): string =>
  (JSON.parse(readFileSync(new URL(`../../data/firmware/${fw}.json`, import.meta.url), 'utf8')) as { dialect: string })
    .dialect

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

  /** One test per failure class: the CA uploaded, the host asked, the class read from the module's lines alone. */
  function classTests(
    m: () => OpenedModule,
    cases: Array<[string, string, string, string]>,
    lines: (a: Attempt) => void,
  ) {
    for (const [cls, host, ca, path] of cases) {
      test(`a ${cls} failure, classified from the module's lines`, async () => {
        await m().driver.uploadCa(der(ca))
        const p = host === 'closed.basic.test' ? closed : host === 'nowhere.basic.test' ? 443 : port(host)
        const a = await m().driver.httpsGet({ host, path, port: p })
        assert.equal(a.outcome, 'fail')
        assert.equal(a.class, cls, JSON.stringify(a.lines))
        if (cls === 'http') assert.equal(a.httpStatus, 404)
        lines(a)
      })
    }
  }

  for (const fw of [
    'spwf04sa-1.0.0',
    'spwf01sa-3.5.3',
    'esp-at-2.2-esp8266',
    'esp-at-3.3-esp32c3',
    'esp-at-4.1-esp32',
    'esp-at-5.0-esp32c5',
  ]) {
    wireSuite(
      `emulator ${fw}`,
      () => `emu:${fw}?no-dns`,
      resolve,
      () => der('root-rsa'),
      dialectOf(fw),
    )
  }
  if (hardware)
    wireSuite(
      `hardware ${hardware}`,
      () => hardware,
      () => [],
      () => der('root-rsa'),
      null,
    )
  else
    test(
      'hardware: skipped, set TLSMATRIX_DEVICE=/dev/ttyUSB0 to run this suite on a real module',
      { skip: 'no TLSMATRIX_DEVICE' },
      () => {},
    )

  describe('emulator spwf04sa-1.0.0 against the lab', () => {
    let m: OpenedModule
    before(async () => {
      // The stalling server costs this long; every other lab request must fit in it even on a busy machine.
      m = await openModule('emu:spwf04sa-1.0.0?no-dns&request-timeout-ms=5000', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      await m.driver.prepare(new Date())
    })
    after(async () => m.transport.close())

    test('uploads a CA (DER), reports its SubjectKeyId, and passes against a lab server', async () => {
      await m.driver.clean()
      const up = await m.driver.uploadCa(der('root-rsa'))
      assert.equal(up.ski, parseCertificate(der('root-rsa')).info.ski)
      const a = await m.driver.httpsGet({
        host: 'rsa2048.basic.test',
        path: '/hello',
        port: port('rsa2048.basic.test'),
      })
      assert.equal(a.outcome, 'pass', JSON.stringify(a.lines))
      assert.equal(a.httpStatus, 200)
      assert.ok(a.bodyBytes > 0)
      assert.deepEqual(a.lines.slice(0, 2), ['AT-S.Skip CA', 'AT-S.Loading:1:2'])
      assert.ok(
        a.transcript.some((e) => e.dir === 'rx' && e.data.includes('/hello')),
        'the body the server sent is in the transcript',
      )
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
    classTests(
      () => m,
      cases,
      (a) => assert.match(a.lines[a.lines.length - 1]!, /^AT-S\.ERROR:/),
    )
  })

  describe('emulator esp-at-5.0-esp32c5 against the lab: +ERRNO names the class', () => {
    let m: OpenedModule
    before(async () => {
      m = await openModule('emu:esp-at-5.0-esp32c5?no-dns&request-timeout-ms=5000', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      await m.driver.prepare(new Date())
    })
    after(async () => m.transport.close())

    test('uploads a CA (PEM by SYSMFG) and passes against a lab server, the status line kept', async () => {
      await m.driver.clean()
      await m.driver.uploadCa(der('root-rsa'))
      const a = await m.driver.httpsGet({
        host: 'rsa2048.basic.test',
        path: '/hello',
        port: port('rsa2048.basic.test'),
      })
      assert.equal(a.outcome, 'pass', JSON.stringify(a.lines))
      assert.deepEqual(a.lines, ['CONNECT', 'OK', 'HTTP/1.1 200 OK'])
      assert.equal(a.httpStatus, 200)
      assert.ok(a.bodyBytes > 0)
      assert.ok(
        a.transcript.some(
          (e) => e.dir === 'note' && e.data === 'name checked (SNI and certificate): rsa2048.basic.test',
        ),
      )
    })

    const cases: Array<[string, string, string, string]> = [
      ['dns', 'nowhere.basic.test', 'root-rsa', '/'],
      ['connect', 'closed.basic.test', 'root-rsa', '/'],
      ['handshake', 'tls13-only.basic.test', 'root-rsa', '/'],
      ['untrusted', 'rsa2048.basic.test', 'root-g1', '/'],
      ['expired', 'expired.basic.test', 'root-rsa', '/'],
      ['hostname', 'wrong-host.basic.test', 'root-rsa', '/'],
      ['too-large', 'many-sans.basic.test', 'root-rsa', '/'],
      ['http', 'rsa2048.basic.test', 'root-rsa', '/status/404'],
      ['timeout', 'stall.basic.test', 'root-rsa', '/'],
    ]
    classTests(
      () => m,
      cases,
      (a) => {
        if (a.class === 'dns') assert.deepEqual(a.lines, ['ERROR'])
        else if (a.class !== 'http') assert.match(a.lines.join('|'), /^\+ERRNO:0x[0-9a-f]+\|ERROR$/)
      },
    )

    test('a clock never set (1970) fails a good chain as clock, and setting it again mends it', async () => {
      await m.driver.uploadCa(der('root-rsa'))
      const req = { host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') }
      assert.deepEqual(await raw(m, 'AT+SYSTIMESTAMP=0'), ['OK'])
      const a = await m.driver.httpsGet(req)
      assert.equal(a.class, 'clock', JSON.stringify(a.lines))
      await m.driver.prepare(new Date())
      assert.equal((await m.driver.httpsGet(req)).outcome, 'pass')
    })
  })

  describe('emulator esp-at-3.3-esp32c3 and esp-at-2.2-esp8266 against the lab: a bare ERROR', () => {
    test('v3.3 says only ERROR for every kind of failure (unspecified); an HTTP error still has its status', async () => {
      const m = await openModule('emu:esp-at-3.3-esp32c3?no-dns&request-timeout-ms=5000', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        for (const host of [
          'expired.basic.test',
          'wrong-host.basic.test',
          'tls13-only.basic.test',
          'ecdsa.basic.test',
          'stall.basic.test',
        ]) {
          const a = await m.driver.httpsGet({ host, path: '/', port: port(host) })
          assert.deepEqual([a.outcome, a.class, a.lines], ['fail', 'unspecified', ['ERROR']], host)
        }
        const nf = await m.driver.httpsGet({
          host: 'rsa2048.basic.test',
          path: '/status/404',
          port: port('rsa2048.basic.test'),
        })
        assert.deepEqual([nf.class, nf.httpStatus], ['http', 404])
      } finally {
        await m.transport.close()
      }
    })

    test('v2.2 takes the CA as an AtPKI image in SYSFLASH, and checks no dates: an expired leaf passes', async () => {
      const m = await openModule('emu:esp-at-2.2-esp8266?no-dns', { resolve: resolve(), emulator: inProcessEmulator })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        const up = await m.driver.uploadCa(der('root-rsa'))
        assert.match(up.command, /^AT\+SYSFLASH=1,"client_ca",0,\d+$/)
        for (const host of ['rsa2048.basic.test', 'expired.basic.test']) {
          const a = await m.driver.httpsGet({ host, path: '/', port: port(host) })
          assert.equal(a.outcome, 'pass', `${host}: ${JSON.stringify(a.lines)}`)
        }
        assert.equal(
          (await m.driver.httpsGet({ host: 'wrong-host.basic.test', path: '/', port: port('wrong-host.basic.test') }))
            .outcome,
          'fail',
        )
      } finally {
        await m.transport.close()
      }
    })
  })

  describe('emulator esp-at faults', () => {
    test("a module without Wi-Fi: CIPSTART's bare ERROR is no verdict (the Wi-Fi state is asked), never a failed target", async () => {
      const m = await openModule('emu:esp-at-3.3-esp32c3?no-dns&no-wifi', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
        assert.equal(a.class, 'device', JSON.stringify(a))
        assert.equal(a.fault, 'unrecognized')
        assert.match(a.deviceError ?? '', /no Wi-Fi \(\+CWSTATE:0\)/)
        assert.deepEqual(a.lines, ['ERROR'])
      } finally {
        await m.transport.close()
      }
    })
  })

  describe('emulator faults', () => {
    // Per family: a module whose indications (URCs) land inside responses, and one that restarts
    // during the request. Counting every command but the bare AT (see faults.ts): SPWF04 0-1
    // identify, 2-6 prepare (the last two check the resync variable, once per driver), 7 clean,
    // 8 upload, 9 HTTPGET; ESP-AT 0-1 the two AT+GMR of open, 2-4
    // prepare, 5 clean, 6-7 upload (SYSMFG, CIPSSLCCONF), 8 CIPSSLCSNI, 9 CIPSTART.
    const families = [
      {
        name: 'SPWF04SA',
        urcs: 'emu:spwf04sa-1.1.0?no-dns&faults=wind=1',
        urc: /\+WIND:\d+/g,
        reboot: 'emu:spwf04sa-1.0.0?no-dns&faults=reboot@9',
      },
      {
        name: 'ESP-AT',
        urcs: 'emu:esp-at-4.1-esp32?no-dns&faults=wind=1',
        urc: /WIFI (?:CONNECTED|GOT IP|DISCONNECT)|\+TIME_UPDATED/g,
        reboot: 'emu:esp-at-3.3-esp32c3?no-dns&faults=reboot@9',
      },
    ]
    for (const f of families) {
      test(`${f.name}: indications arriving mid-response change nothing`, async () => {
        const m = await openModule(f.urcs, { resolve: resolve(), emulator: inProcessEmulator })
        try {
          await m.driver.prepare(new Date())
          await m.driver.clean()
          await m.driver.uploadCa(der('root-ec384'))
          const a = await m.driver.httpsGet({ host: 'ecdsa.basic.test', path: '/', port: port('ecdsa.basic.test') })
          assert.equal(a.outcome, 'pass', JSON.stringify(a.lines))
          const urcs =
            a.transcript
              .filter((e) => e.dir === 'rx')
              .map((e) => e.data)
              .join('')
              .match(f.urc) ?? []
          assert.ok(urcs.length >= 1, 'the emulator did inject indications')
          assert.ok(!a.lines.some((l) => new RegExp(f.urc.source).test(l)), JSON.stringify(a.lines))
        } finally {
          await m.transport.close()
        }
      })

      test(`${f.name}: a restart during the request is a device failure, never a verdict, and the module comes back`, async () => {
        const m = await openModule(f.reboot, { resolve: resolve(), emulator: inProcessEmulator })
        try {
          await m.driver.prepare(new Date())
          await m.driver.clean()
          await m.driver.uploadCa(der('root-rsa'))
          const req = { host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') }
          const a = await m.driver.httpsGet(req)
          assert.equal(a.class, 'device', JSON.stringify(a.lines))
          assert.match(a.deviceError ?? '', /AT_REBOOTED/)
          await m.driver.reset()
          await m.driver.prepare(new Date())
          assert.equal((await m.driver.httpsGet(req)).outcome, 'pass', 'the CA survived the restart in flash')
        } finally {
          await m.transport.close()
        }
      })
    }

    test('a module that stops answering: timeout, reset, resync, and it works again', async () => {
      // Counting every command but the bare AT: 0-1 identify the module, 2-6 prepare it, 7 (clean)
      // is never answered. The stall is shorter than the command timeout, so a slow machine only
      // makes the test slower: the reset always meets a module that listens again.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=stall@7,stallMs=1000', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      try {
        await m.driver.prepare(new Date())
        await assert.rejects(m.driver.clean(), (e) => isDeviceError(e, 'AT_TIMEOUT'))
        await m.driver.reset()
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        assert.equal(
          (await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') }))
            .outcome,
          'pass',
        )
      } finally {
        await m.transport.close()
      }
    })

    test('corrupted bytes never hang the driver; a reset recovers', async () => {
      // Command 9 is the HTTPGET. If the garbage hits its final line the driver waits for httpMs.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=corrupt@9&seed=7', {
        resolve: resolve(),
        timeouts: { httpMs: 20_000 },
        emulator: inProcessEmulator,
      })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const a = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
        // Whatever the garbage hit, the verdict is a pass or a link failure, never a made-up server class.
        assert.ok(a.outcome === 'pass' || a.class === 'device', JSON.stringify(a.lines))
        assert.ok(
          a.transcript.some((e) => e.dir === 'rx' && /[\x80-\xff]/.test(e.data)),
          'the emulator did corrupt the answer',
        )
        await m.driver.reset()
        await m.driver.prepare(new Date())
        assert.equal(
          (await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') }))
            .outcome,
          'pass',
        )
      } finally {
        await m.transport.close()
      }
    })

    test("the emulator's own errors are kept as transcript notes, never as bytes from the module", async () => {
      // Command 2 is prepare's first: the emulator fails internally and answers nothing.
      const m = await openModule('emu:spwf04sa-1.0.0?no-dns&faults=internal@2', {
        resolve: resolve(),
        emulator: inProcessEmulator,
      })
      try {
        await assert.rejects(m.driver.prepare(new Date()), (e) => isDeviceError(e, 'AT_TIMEOUT'))
        const notes = () =>
          m.channel.transcript.entries.filter(
            (e) => e.dir === 'note' && /^emulator: .*internal error injected/.test(e.data),
          )
        await waitFor(() => notes().length > 0, 'the note')
        assert.match(notes()[0]!.data, /AT\+S\.SCFG=console_errs,2/, 'it names the command')
        assert.ok(!m.channel.transcript.entries.some((e) => e.dir === 'rx' && e.data.includes('internal error')))
      } finally {
        await m.transport.close()
      }
    })

    test('without Wi-Fi HTTPGET answers ERROR:44, as the real module does', async () => {
      const m = await openModule('emu:spwf04sa-1.1.0?no-wifi', { resolve: resolve(), emulator: inProcessEmulator })
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
    const emulator = await tcpEmulator('spwf04sa-1.1.0', { resolve: resolve(), params: 'no-dns' })
    try {
      assert.match(emulator.url, /^tcp:\/\/127\.0\.0\.1:\d+$/)
      const m = await openModule(emulator.url)
      try {
        assert.equal(m.identity.firmware, '1.1.0')
        await m.driver.prepare(new Date())
        await m.driver.uploadCa(der('root-rsa'))
        assert.equal(
          (await m.driver.httpsGet({ host: 'cross.basic.test', path: '/', port: port('cross.basic.test') })).class,
          'untrusted',
          'cross.basic.test chains to G1/G2, not root-rsa',
        )
      } finally {
        await m.transport.close()
      }
    } finally {
      await emulator.close()
    }
  })

  describe('emulator spwf01sa-3.5.3 against the lab', () => {
    test('PEM upload, secure socket, pass; and its own error lines classified', async () => {
      const m = await openModule('emu:spwf01sa-3.5.3?no-dns', { resolve: resolve(), emulator: inProcessEmulator })
      try {
        await m.driver.prepare(new Date())
        await m.driver.clean()
        await m.driver.uploadCa(der('root-rsa'))
        const ok = await m.driver.httpsGet({
          host: 'rsa4096-int.basic.test',
          path: '/',
          port: port('rsa4096-int.basic.test'),
        })
        assert.equal(ok.outcome, 'pass', JSON.stringify(ok.lines))
        assert.equal(ok.httpStatus, 200)
        const exp = await m.driver.httpsGet({ host: 'expired.basic.test', path: '/', port: port('expired.basic.test') })
        assert.equal(exp.class, 'expired')
        const v13 = await m.driver.httpsGet({
          host: 'tls13-only.basic.test',
          path: '/',
          port: port('tls13-only.basic.test'),
        })
        assert.equal(v13.class, 'handshake')
      } finally {
        await m.transport.close()
      }
    })
  })
})
