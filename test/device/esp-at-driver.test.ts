import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { toPem } from '../../src/chain/index.js'
import { AtChannel } from '../../src/device/at/channel.js'
import type { Identity } from '../../src/device/drivers/driver.js'
import { EspAtDriver } from '../../src/families/esp-at/driver.js'
import { ESP_FRAMING } from '../../src/families/esp-at/framing.js'
import { pkiPartition } from '../../src/families/esp-at/pki-partition.js'
import { isDeviceError } from '../../src/device/index.js'
import type { FirmwareProfile } from '../../src/profile/profile.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'

const PROFILE = JSON.parse(
  readFileSync(new URL('../fixtures/esp-at/esp-at-3.3-esp32c3.json', import.meta.url), 'utf8'),
) as FirmwareProfile
const sysflashProfile = (): FirmwareProfile =>
  ({
    ...PROFILE,
    id: 'test-esp-at-2.2',
    store: { caSlots: 1, maxCaBytes: 8180 },
    esp: { ...(PROFILE as unknown as { esp: object }).esp, caStore: 'sysflash' },
  }) as unknown as FirmwareProfile
const timeouts = { commandMs: 2000, httpMs: 5000, resetMs: 5000 }

/** A module that answers each command by the first matching rule; payload writes answer by what was prompted. */
function module(rules: Array<[RegExp, string | Buffer]>) {
  return scriptedTransport((w) => {
    for (const [re, reply] of rules)
      if (re.test(w)) return typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply
    return null
  })
}

const driverOn = (t: ReturnType<typeof module>, profile = PROFILE) => {
  const ch = new AtChannel(t, ESP_FRAMING)
  const identity = { module: 'ESP32-C3', firmware: '3.3.0', build: '3.3.0.0', dialect: 'esp-at' } as unknown as Identity
  return new EspAtDriver(ch, identity, profile, () => performance.now(), timeouts)
}

test('identify: AT+GMR with echo on gives module, firmware and build', async () => {
  const t = module([
    [
      /^AT\+GMR\r\n$/,
      'AT+GMR\r\nAT version:3.3.0.0(s-1234 - ESP32C3 - Aug  1 2024 07:00:00)\r\nSDK version:v5.0.6\r\ncompile time(abc):Aug  1 2024 07:00:00\r\nBin version:v3.3.0.0(MINI-1)\r\n\r\nOK\r\n',
    ],
  ])
  const id = await EspAtDriver.identify(new AtChannel(t, ESP_FRAMING), 2000)
  assert.deepEqual(id, { module: 'ESP32-C3', firmware: '3.3.0', build: '3.3.0.0', dialect: 'esp-at' })
})

test('prepare: ATE0, SYSLOG=1, the clock by SYSTIMESTAMP; clean erases the SYSMFG client_ca namespace', async () => {
  const t = module([[/\r\n$/, '\r\nOK\r\n']])
  const d = driverOn(t)
  await d.prepare(new Date('2026-11-28T12:00:00Z'))
  await d.clean()
  assert.deepEqual(t.written, [
    'ATE0\r\n',
    'AT+SYSLOG=1\r\n',
    'AT+SYSTIMESTAMP=1795867200\r\n',
    'AT+SYSMFG=0,"client_ca"\r\n',
  ])
})

test('uploadCa on v3.1+: SYSMFG write of the PEM after the prompt, then CIPSSLCCONF=2,0,0; over 8191 bytes refused', async () => {
  const der = Buffer.alloc(900, 7)
  const pem = Buffer.from(toPem(der))
  const t = module([
    [/^AT\+SYSMFG=2,/, '\r\nOK\r\n\r\n>'],
    [/^-----BEGIN/, '\r\nOK\r\n'],
    [/^AT\+CIPSSLCCONF/, '\r\nOK\r\n'],
  ])
  const up = await driverOn(t).uploadCa(der)
  assert.equal(up.command, `AT+SYSMFG=2,"client_ca","client_ca.0",8,${pem.length}`)
  assert.deepEqual(t.written, [`${up.command}\r\n`, pem.toString('latin1'), 'AT+CIPSSLCCONF=2,0,0\r\n'])
  await assert.rejects(driverOn(t).uploadCa(Buffer.alloc(6200)), (e) => isDeviceError(e, 'CA_TOO_LARGE'))
})

test('uploadCa on v2.x: erase, the AtPKI image in 4 KB SYSFLASH chunks after bare > prompts; NO CA FOUND fails the upload', async () => {
  const der = Buffer.alloc(3500, 9)
  const image = pkiPartition([{ type: 1, id: 0, content: Buffer.from(toPem(der)) }])
  assert.ok(image.length > 4096)
  const t = module([
    [/^AT\+SYSFLASH=0,/, '\r\nOK\r\n'],
    [/^AT\+SYSFLASH=1,/, '>'],
    [/^\xf1\xf1|^[\s\S]{4096}$|^[\s\S]+-----END CERTIFICATE-----\n\xff*$/, '\r\nOK\r\n'],
    [/^AT\+CIPSSLCCONF/, '\r\nOK\r\n'],
  ])
  await driverOn(t, sysflashProfile()).uploadCa(der)
  assert.deepEqual(
    t.written.filter((w) => w.startsWith('AT')),
    [
      'AT+SYSFLASH=0,"client_ca"\r\n',
      'AT+SYSFLASH=1,"client_ca",0,4096\r\n',
      `AT+SYSFLASH=1,"client_ca",4096,${image.length - 4096}\r\n`,
      'AT+CIPSSLCCONF=2,0,0\r\n',
    ],
  )
  assert.deepEqual(Buffer.from(t.written.filter((w) => !w.startsWith('AT')).join(''), 'latin1'), image)
  const bad = module([
    [/^AT\+SYSFLASH=0,/, '\r\nOK\r\n'],
    [/^AT\+SYSFLASH=1,/, '>'],
    [/^AT\+CIPSSLCCONF/, 'NO CA FOUND\r\n\r\nOK\r\n'],
    [/^[^A]/, '\r\nOK\r\n'],
  ])
  await assert.rejects(
    driverOn(bad, sysflashProfile()).uploadCa(Buffer.alloc(100)),
    (e) => isDeviceError(e, 'CA_INVALID') && /NO CA FOUND/.test(e.message),
  )
})

const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'

test('httpsGet pass: SNI set (name checked recorded), CIPSTART SSL, CIPSEND after the prompt, +IPD data, CLOSED; status line kept', async () => {
  const t = module([
    [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
    [/^AT\+CIPSTART=/, 'CONNECT\r\n\r\nOK\r\n'],
    [/^AT\+CIPSEND=/, '\r\nOK\r\n\r\n>'],
    [
      /^GET /,
      `\r\nRecv 64 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,20:${response.slice(0, 20)}\r\n+IPD,${response.length - 20}:${response.slice(20)}CLOSED\r\n`,
    ],
  ])
  const a = await driverOn(t).httpsGet({ host: 'a.test', path: '/x', port: 8443 })
  assert.deepEqual([a.outcome, a.class, a.httpStatus, a.bodyBytes, a.fault], ['pass', null, 200, 2, null])
  assert.deepEqual(a.lines, ['CONNECT', 'OK', 'HTTP/1.1 200 OK'])
  assert.deepEqual(t.written.slice(0, 3), [
    'AT+CIPSSLCSNI="a.test"\r\n',
    'AT+CIPSTART="SSL","a.test",8443,,,5000\r\n',
    `AT+CIPSEND=${t.written[3]!.length}\r\n`,
  ])
  assert.equal(t.written[3], 'GET /x HTTP/1.1\r\nHost: a.test\r\nUser-Agent: tlsmatrix\r\nConnection: close\r\n\r\n')
  assert.equal(t.written.includes('AT+CIPCLOSE\r\n'), false, 'closed by the server: no CIPCLOSE')
  assert.ok(a.transcript.some((e) => e.dir === 'note' && e.data === 'name checked (SNI and certificate): a.test'))
})

test('httpsGet: a bare ERROR is the unspecified class; a damaged answer is a link fault, never a verdict; a busy module is a device fault', async () => {
  const fail = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, '\r\nERROR\r\n'],
      [/^AT\+CWSTATE\?/, '+CWSTATE:2,"lab"\r\n\r\nOK\r\n'],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([fail.outcome, fail.class, fail.lines, fail.fault], ['fail', 'unspecified', ['ERROR'], null])
  // The same ERROR with Wi-Fi down is no verdict; a firmware that refuses the query keeps the verdict.
  const noWifi = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, '\r\nERROR\r\n'],
      [/^AT\+CWSTATE\?/, '+CWSTATE:0,""\r\n\r\nOK\r\n'],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([noWifi.class, noWifi.fault, noWifi.lines], ['device', 'unrecognized', ['ERROR']])
  const noQuery = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, '\r\nERROR\r\n'],
      [/^AT\+CWSTATE\?/, '\r\nERROR\r\n'],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([noQuery.class, noQuery.fault], ['unspecified', null])
  const damaged = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, 'CONNE\xa3T\r\n\r\nERROR\r\n'],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([damaged.class, damaged.fault], ['device', 'link'])
  const busy = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, '\r\nbusy p...\r\n'],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([busy.class, busy.fault], ['device', 'link'])
  // A response cut by a reboot (ready) is no response.
  const cut = await driverOn(
    module([
      [/^AT\+CIPSSLCSNI=/, '\r\nOK\r\n'],
      [/^AT\+CIPSTART=/, 'CONNECT\r\n\r\nOK\r\n'],
      [/^AT\+CIPSEND=/, '\r\nOK\r\n\r\n>'],
      [/^GET /, `\r\nRecv 64 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,20:${response.slice(0, 20)}\r\nready\r\n`],
    ]),
  ).httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.deepEqual([cut.class, cut.fault, cut.deviceError?.startsWith('AT_REBOOTED')], ['device', 'link', true])
})

test('httpsGet refuses a host that would change the command, before sending anything', async () => {
  const t = module([[/./, '\r\nOK\r\n']])
  for (const host of ['a.test\r\nAT+RST', 'a\0b', 'x'.repeat(65), '2001:db8::1', '[::1]']) {
    await assert.rejects(driverOn(t).httpsGet({ host, path: '/', port: 443 }), (e) =>
      isDeviceError(e, 'AT_INVALID_FIELD'),
    )
  }
  await assert.rejects(driverOn(t).httpsGet({ host: 'a.test', path: '/\r\nX: y', port: 443 }), (e) =>
    isDeviceError(e, 'AT_INVALID_FIELD'),
  )
  assert.deepEqual(t.written, [])
})
