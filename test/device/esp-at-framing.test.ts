import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AtChannel, type AtResponse } from '../../src/device/at/channel.js'
import { SPWF04_FRAMING } from '../../src/families/spwf04/framing.js'
import { ESP_FRAMING } from '../../src/families/esp-at/framing.js'
import { isDeviceError } from '../../src/device/index.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'
import { waitFor } from '../helpers/wait.js'

/** Every way to cut one reply in two, then byte by byte. */
const splits = (len: number): Array<(b: Buffer) => Buffer[]> => [
  (b) => [b],
  ...Array.from({ length: len - 1 }, (_, i) => (b: Buffer) => [b.subarray(0, i + 1), b.subarray(i + 1)]),
  (b) => [...b].map((x) => Buffer.from([x])),
]

const gmr = Buffer.from(
  [
    'AT+GMR', // echo (on after boot)
    'AT version:3.3.0.0(s-1234 - ESP32C3 - Aug  1 2024 07:00:00)',
    'WIFI GOT IP',
    'SDK version:v5.0.6',
    'compile time(abc1234):Aug  1 2024 07:00:00',
    'Bin version:v3.3.0.0(MINI-1)',
    '',
    'OK',
  ].join('\r\n') + '\r\n',
  'latin1',
)

test('ESP-AT result codes: echo skipped, a URC between lines is an indication, CR LF ends the command; split at every byte', async () => {
  let want: { lines: string[]; winds: string[] } | null = null
  for (const split of splits(gmr.length)) {
    const t = scriptedTransport((w) => (w === 'AT+GMR\r\n' ? gmr : null), split)
    const ch = new AtChannel(t, ESP_FRAMING)
    const winds: string[] = []
    ch.onWind((w) => winds.push(w))
    const r = await ch.exec('AT+GMR', { timeoutMs: 2000 })
    assert.equal(r.ok, true)
    assert.deepEqual(t.written, ['AT+GMR\r\n'])
    const got = { lines: r.lines, winds }
    want ??= got
    assert.deepEqual(got, want)
  }
  assert.deepEqual(want!.lines, [
    'AT version:3.3.0.0(s-1234 - ESP32C3 - Aug  1 2024 07:00:00)',
    'SDK version:v5.0.6',
    'compile time(abc1234):Aug  1 2024 07:00:00',
    'Bin version:v3.3.0.0(MINI-1)',
  ])
  assert.deepEqual(want!.winds, ['WIFI GOT IP'])
})

/** CIPSEND: prompt, payload only after it, Recv/SEND OK, then +IPD data holding CR LF, OK and ERROR, and CLOSED. */
const ipdData = Buffer.from('HTTP/1.1 200 OK\r\n\r\nOK\r\nERROR\r\n\x00\xff>', 'latin1')
const afterPayload = Buffer.concat([
  Buffer.from('\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n', 'latin1'),
  Buffer.from(`\r\n+IPD,${ipdData.length}:`, 'latin1'),
  ipdData,
  Buffer.from('WIFI DISCONNECT\r\n\r\n+IPD,3:abc', 'latin1'),
  Buffer.from('CLOSED\r\n', 'latin1'),
])

async function cipsend(split: (b: Buffer) => Buffer[]) {
  const t = scriptedTransport(
    (w) =>
      w === 'AT+CIPSEND=5\r\n'
        ? Buffer.from('AT+CIPSEND=5\r\n\r\nOK\r\n\r\n>', 'latin1')
        : w === 'hello'
          ? afterPayload
          : null,
    split,
  )
  const ch = new AtChannel(t, ESP_FRAMING)
  const winds: string[] = []
  const data: Buffer[] = []
  ch.onWind((w) => winds.push(w))
  ch.onInlineData((b) => data.push(b))
  const r = await ch.exec('AT+CIPSEND=5', { timeoutMs: 2000, prompt: true, payload: Buffer.from('hello') })
  // The data and CLOSED come after SEND OK.
  await waitFor(() => winds.includes('CLOSED'), 'CLOSED')
  return { r, winds, data: Buffer.concat(data), written: t.written }
}

test('the payload waits for the > prompt; +IPD data is read by length, never as lines; split at every byte', async () => {
  const whole = await cipsend((b) => [b])
  assert.equal(whole.r.ok, true)
  assert.equal(whole.r.final, 'SEND OK')
  assert.deepEqual(whole.r.lines, ['Recv 5 bytes'])
  assert.deepEqual(whole.written, ['AT+CIPSEND=5\r\n', 'hello'])
  assert.deepEqual(whole.data, Buffer.concat([ipdData, Buffer.from('abc')]))
  assert.deepEqual(whole.winds, [`+IPD,${ipdData.length}`, 'WIFI DISCONNECT', '+IPD,3', 'CLOSED'])
  for (const split of splits(afterPayload.length).slice(1)) {
    const got = await cipsend(split)
    assert.deepEqual(
      [got.r.lines, got.r.final, got.data, got.winds, got.written],
      [whole.r.lines, whole.r.final, whole.data, whole.winds, whole.written],
    )
  }
  // The prompt reply cut at every byte too.
  const prompt = Buffer.from('AT+CIPSEND=5\r\n\r\nOK\r\n\r\n>', 'latin1')
  for (const split of splits(prompt.length).slice(1)) {
    const got = await cipsend(split)
    assert.deepEqual(got.written, ['AT+CIPSEND=5\r\n', 'hello'])
  }
})

test('SYSFLASH bare > prompt; an ERROR instead of the prompt ends the command with nothing sent', async () => {
  const t = scriptedTransport((w) =>
    w.startsWith('AT+SYSFLASH=1')
      ? Buffer.from('>')
      : w === 'data'
        ? Buffer.from('\r\nOK\r\n')
        : w.startsWith('AT+SYSMFG')
          ? Buffer.from('ERR CODE:0x01070004\r\n\r\nERROR\r\n')
          : null,
  )
  const ch = new AtChannel(t, ESP_FRAMING)
  const r = await ch.exec('AT+SYSFLASH=1,"client_ca",0,4', {
    timeoutMs: 2000,
    prompt: true,
    payload: Buffer.from('data'),
  })
  assert.equal(r.ok, true)
  assert.deepEqual(t.written, ['AT+SYSFLASH=1,"client_ca",0,4\r\n', 'data'])
  const e = await ch.exec('AT+SYSMFG=2,"client_ca","client_ca.0",8,9999', {
    timeoutMs: 2000,
    prompt: true,
    payload: Buffer.from('never'),
  })
  assert.equal(e.ok, false)
  assert.deepEqual([e.lines, e.final], [['ERR CODE:0x01070004'], 'ERROR'])
  assert.equal(t.written.includes('never'), false)
})

test('busy p... and ERR CODE lines end a command as an error; SEND FAIL too', async () => {
  const replies: Record<string, string> = {
    'AT+CIPSTART\r\n': 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n',
    'AT+FAKE\r\n': 'ERR CODE:0x01090000\r\n\r\nERROR\r\n',
    'AT+X\r\n': '\r\nSEND FAIL\r\n',
  }
  const t = scriptedTransport((w) => (replies[w] ? Buffer.from(replies[w]) : null))
  const ch = new AtChannel(t, ESP_FRAMING)
  const got: AtResponse[] = []
  for (const c of ['AT+CIPSTART', 'AT+FAKE', 'AT+X']) got.push(await ch.exec(c, { timeoutMs: 2000 }))
  assert.deepEqual(
    got.map((r) => [r.ok, r.lines, r.final]),
    [
      [false, ['ERR CODE:0x010b0000'], 'busy p...'],
      [false, ['ERR CODE:0x01090000'], 'ERROR'],
      [false, [], 'SEND FAIL'],
    ],
  )
})

test('ready mid-command is a reboot (AT_REBOOTED); with expectReboot (AT+RST) it is not', async () => {
  const t = scriptedTransport((w) =>
    w === 'AT+CIPSTART\r\n'
      ? Buffer.from('\r\nready\r\n')
      : w === 'AT+RST\r\n'
        ? Buffer.from('\r\nOK\r\n\r\nready\r\n')
        : null,
  )
  const ch = new AtChannel(t, ESP_FRAMING)
  await assert.rejects(ch.exec('AT+CIPSTART', { timeoutMs: 2000 }), (e) => isDeviceError(e, 'AT_REBOOTED'))
  const r = await ch.exec('AT+RST', { timeoutMs: 2000, expectReboot: true })
  assert.equal(r.ok, true)
})

test('the SPWF framing still ends commands with CR and sends a payload in the same write', async () => {
  const t = scriptedTransport(() => Buffer.from('AT-S.OK\r\n'))
  await new AtChannel(t, SPWF04_FRAMING).exec('AT+S.TLSCERT=ca,3', { timeoutMs: 2000, payload: Buffer.from('abc') })
  assert.deepEqual(t.written, ['AT+S.TLSCERT=ca,3\rabc'])
})
