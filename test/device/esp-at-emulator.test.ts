import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CertCache, toPem } from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import { AtChannel } from '../../src/device/at/channel.js'
import type { Identity } from '../../src/device/drivers/driver.js'
import { NO_FAULTS } from '../../src/emulator/faults.js'
import { EmulatedModule } from '../../src/emulator/module.js'
import { EspAtDriver } from '../../src/families/esp-at/driver.js'
import { espAt } from '../../src/families/esp-at/emulator.js'
import { ESP_FRAMING } from '../../src/families/esp-at/framing.js'
import { pkiPartition } from '../../src/families/esp-at/pki-partition.js'
import type { FirmwareProfile } from '../../src/profile/profile.js'
import type { Transport } from '../../src/device/transport/transport.js'
import { parseResolveEntries } from '../../src/hosts/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { waitFor } from '../helpers/wait.js'

const V33 = JSON.parse(
  readFileSync(new URL('../fixtures/esp-at/esp-at-3.3-esp32c3.json', import.meta.url), 'utf8'),
) as FirmwareProfile
const extras = (V33 as unknown as { esp: Record<string, unknown> }).esp
/** v5.0-like: SNI = host by default, +ERRNO with SYSLOG=1 (reference §3.2 values). */
const V50 = {
  ...V33,
  id: 'test-esp-at-5.0',
  module: 'ESP32-C5',
  build: '5.0.0.0',
  firmware: '5.0.0',
  esp: { ...extras, sniDefault: 'host', errno: true, cipherCommand: true },
  responses: { info: ['CONNECT', '+ERRNO:0x{text}'], final: ['OK', 'ERROR'] },
  errors: {
    untrusted: ['+ERRNO:0x8', 'ERROR'],
    expired: ['+ERRNO:0x1', 'ERROR'],
    hostname: ['+ERRNO:0x4', 'ERROR'],
    clock: ['+ERRNO:0x200', 'ERROR'],
    unspecified: ['ERROR'],
  },
} as unknown as FirmwareProfile
/** v2.x-like: the CA goes in the SYSFLASH partition as an AtPKI image. */
const V22 = {
  ...V33,
  id: 'test-esp-at-2.2',
  store: { caSlots: 1, maxCaBytes: 8180 },
  esp: { ...extras, caStore: 'sysflash' },
} as unknown as FirmwareProfile

describe('the ESP-AT emulator dialect', () => {
  let lab: RunningLab
  before(async () => {
    lab = await startTestLab()
  })
  after(async () => lab.close())

  /** The module in-process, its bytes to the host asynchronously, as on a line. */
  const start = (profile: FirmwareProfile) => {
    const log: string[] = []
    const errors: string[] = []
    let onData: (b: Buffer) => void = () => {}
    const rx: Buffer[] = []
    const net = {
      resolveMap: parseResolveEntries(lab.resolveEntries),
      dnsOff: true,
      clock: systemClock,
      timeoutMs: 30_000,
      cache: new CertCache(),
    }
    const m = new EmulatedModule({
      profile,
      dialect: espAt,
      clock: systemClock,
      rtcAtBoot: new Date(0),
      wifi: true,
      net,
      faults: NO_FAULTS,
      seed: 1,
      output: (b) => {
        rx.push(b)
        setImmediate(() => onData(b))
      },
      log: (l) => log.push(l),
      error: (e) => errors.push(e),
    })
    const t: Transport = {
      describe: 'in-process esp-at',
      write(data) {
        const copy = Buffer.from(data)
        setImmediate(() => m.receive(copy))
        return Promise.resolve()
      },
      onData: (cb) => {
        onData = cb
      },
      onClose: () => {},
      async close() {},
    }
    const channel = new AtChannel(t, ESP_FRAMING)
    let readySeen = 0
    channel.onWind((l) => {
      if (l === 'ready') readySeen++
    })
    m.boot()
    const identity = {
      module: profile.module,
      firmware: profile.firmware,
      build: profile.build,
      dialect: 'esp-at',
    } as unknown as Identity
    const driver = new EspAtDriver(channel, identity, profile, () => performance.now(), {
      commandMs: 10_000,
      httpMs: 60_000,
      resetMs: 30_000,
    })
    const wire = () => Buffer.concat(rx).toString('latin1')
    return { m, channel, driver, log, errors, wire, rx, booted: () => readySeen > 0 }
  }
  const port = (host: string) => lab.hosts.find((h) => h.name === host)!.port
  const ca = (name: string) => lab.pki.certs.get(name)!.der
  const ready = async (s: ReturnType<typeof start>, profile: FirmwareProfile, caName = 'root-rsa', clock = true) => {
    await waitFor(s.booted, 'ready')
    assert.deepEqual(await EspAtDriver.identify(s.channel, 10_000), {
      module: profile.module,
      firmware: profile.firmware,
      build: profile.build,
      dialect: 'esp-at',
    })
    if (clock) await s.driver.prepare(new Date())
    else {
      await s.channel.exec('ATE0', { timeoutMs: 10_000 })
      await s.channel.exec('AT+SYSLOG=1', { timeoutMs: 10_000 })
    }
    await s.driver.clean()
    await s.driver.uploadCa(ca(caName))
  }

  test('boot banner, echo on, GMR; v3.3: a trusted chain passes with the status line, a wrong CA is a bare ERROR (unspecified)', async () => {
    const s = start(V33)
    await ready(s, V33)
    assert.ok(
      s.wire().startsWith('\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\nAT+GMR\r\nAT version:3.3.0.0('),
      JSON.stringify(s.wire().slice(0, 80)),
    )
    assert.equal(s.wire().split('AT+GMR\r\n').length, 2, 'identified at the first try')
    const pass = await s.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.deepEqual(
      [pass.outcome, pass.httpStatus, pass.lines],
      ['pass', 200, ['CONNECT', 'OK', 'HTTP/1.1 200 OK']],
      JSON.stringify(pass),
    )
    const e = await s.driver.httpsGet({ host: 'ecdsa.basic.test', path: '/', port: port('ecdsa.basic.test') })
    assert.deepEqual([e.outcome, e.class, e.lines], ['fail', 'unspecified', ['ERROR']])
    assert.ok(
      s.log.some((l) => /CIPSTART ecdsa\.basic\.test:\d+ .*: untrusted/.test(l)),
      s.log.join('\n'),
    )
    const wrongHost = await s.driver.httpsGet({
      host: 'wrong-host.basic.test',
      path: '/',
      port: port('wrong-host.basic.test'),
    })
    assert.deepEqual([wrongHost.class], ['unspecified'])
    assert.ok(
      s.log.some((l) => /wrong-host\.basic\.test:\d+ .*: hostname/.test(l)),
      s.log.join('\n'),
    )
    assert.deepEqual(s.errors, [])
  })

  test('v3.3 checks no name unless SNI is set: without CIPSSLCSNI a wrong-host leaf connects (the trap the driver avoids)', async () => {
    const s = start(V33)
    await ready(s, V33)
    const r = await s.channel.exec(`AT+CIPSTART="SSL","wrong-host.basic.test",${port('wrong-host.basic.test')}`, {
      timeoutMs: 60_000,
    })
    assert.deepEqual([r.lines, r.final], [['CONNECT'], 'OK'])
    const c = await s.channel.exec('AT+CIPCLOSE', { timeoutMs: 10_000 })
    assert.deepEqual([c.lines, c.final], [[], 'OK'], 'CLOSED is an indication')
  })

  test('v5.0 with SYSLOG=1: +ERRNO before ERROR decodes the class; the clock at 1970 fails every chain as clock', async () => {
    const s = start(V50)
    await ready(s, V50)
    const u = await s.driver.httpsGet({ host: 'ecdsa.basic.test', path: '/', port: port('ecdsa.basic.test') })
    assert.deepEqual([u.class, u.lines], ['untrusted', ['+ERRNO:0x8', 'ERROR']])
    assert.match(s.wire(), /\+ERRNO:0x8\r\n\r\nERROR\r\n/)
    const x = await s.driver.httpsGet({ host: 'expired.basic.test', path: '/', port: port('expired.basic.test') })
    assert.equal(x.class, 'expired')
    const noClock = start(V50)
    await ready(noClock, V50, 'root-rsa', false)
    const c = await noClock.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.deepEqual([c.class, c.lines], ['clock', ['+ERRNO:0x200', 'ERROR']])
  })

  test('v2.x: the AtPKI image goes into SYSFLASH, reads back byte for byte, and the chain passes; garbage there is NO CA FOUND', async () => {
    const s = start(V22)
    await ready(s, V22)
    const image = pkiPartition([{ type: 1, id: 0, content: Buffer.from(toPem(ca('root-rsa'))) }])
    const back = await s.channel.exec(`AT+SYSFLASH=2,"client_ca",0,${image.length}`, { timeoutMs: 10_000 })
    assert.equal(back.ok, true)
    assert.ok(s.wire().includes(`+SYSFLASH:${image.length},${image.toString('latin1')}\r\n\r\nOK\r\n`))
    const pass = await s.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.equal(pass.outcome, 'pass', JSON.stringify(pass.lines))
    await s.channel.exec('AT+SYSFLASH=0,"client_ca"', { timeoutMs: 10_000 })
    const conf = await s.channel.exec('AT+CIPSSLCCONF=2,0,0', { timeoutMs: 10_000 })
    assert.deepEqual([conf.winds, conf.final], [['NO CA FOUND'], 'OK'])
    assert.equal(
      await s.channel.exec('AT+SYSMFG?', { timeoutMs: 10_000 }).then((r) => r.final),
      'ERROR',
      'no SYSMFG on v2.x',
    )
  })

  test('reset: AT+RST, ready counted as a reboot, echo back on and resynchronised; a link left open is closed, never judged', async () => {
    const s = start(V33)
    await ready(s, V33)
    const before = s.driver.reboots()
    await s.driver.reset()
    assert.equal(s.driver.reboots(), before + 1)
    // ATE0 was in force, so AT+RST is not echoed; after ready the echo is back on (the AT poll is).
    assert.match(s.wire(), /\r\nOK\r\n\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\nAT\r\n\r\nOK\r\n/)
    await s.driver.prepare(new Date())
    const open = await s.channel.exec(`AT+CIPSTART="SSL","rsa2048.basic.test",${port('rsa2048.basic.test')}`, {
      timeoutMs: 60_000,
    })
    assert.equal(open.final, 'OK')
    const a = await s.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.deepEqual([a.class, a.fault, a.lines], ['device', 'link', ['ALREADY CONNECTED', 'ERROR']])
    const b = await s.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.equal(b.outcome, 'pass')
  })

  test('exact bytes: prompts, SYSMFG limit, unknown command with SYSLOG, busy p... while a command runs', async () => {
    const s = start(V33)
    await waitFor(s.booted, 'ready')
    const sent = async (bytes: string) => {
      s.rx.length = 0
      s.m.receive(Buffer.from(bytes, 'latin1'))
      await s.m.idle()
      return s.wire()
    }
    assert.equal(await sent('ATE0\r\n'), 'ATE0\r\n\r\nOK\r\n')
    assert.equal(await sent('AT+SYSMFG=2,"client_ca","client_ca.0",8,3\r\n'), '\r\nOK\r\n\r\n>')
    assert.equal(await sent('abc'), '\r\nOK\r\n')
    assert.equal(await sent('AT+SYSMFG=1,"client_ca"\r\n'), '+SYSMFG:"client_ca","client_ca.0",8\r\n\r\nOK\r\n')
    assert.equal(await sent('AT+SYSMFG=2,"client_ca","client_ca.0",8,8192\r\n'), '\r\nERROR\r\n')
    assert.equal(await sent('AT+SYSFLASH?\r\n'), '\r\nERROR\r\n')
    assert.equal(await sent('AT+SYSLOG=1\r\n'), '\r\nOK\r\n')
    assert.equal(await sent('AT+FAKE\r\n'), 'ERR CODE:0x01090000\r\n\r\nERROR\r\n')
    assert.equal(await sent('AT+CIPSSLCCIPHER=1,0xC02F\r\n'), 'ERR CODE:0x01090000\r\n\r\nERROR\r\n', 'v4.1+ only')
    assert.equal(await sent('AT+SYSTIMESTAMP=1700000000\r\n'), '\r\nOK\r\n')
    assert.match(await sent('AT+SYSTIMESTAMP?\r\n'), /^\+SYSTIMESTAMP:17000000\d\d\r\n\r\nOK\r\n$/)
    // A second line while CIPSTART runs (its handshake takes round trips): busy p..., the first still answers.
    const both = await sent(`AT+CIPSTART="SSL","rsa2048.basic.test",${port('rsa2048.basic.test')}\r\nAT\r\n`)
    assert.match(both, /^ERR CODE:0x010b0000\r\n\r\nbusy p\.\.\.\r\n[\s\S]*(?:CONNECT\r\n\r\nOK\r\n|\r\nERROR\r\n)$/)
    assert.deepEqual(s.errors, [])
  })
})
