import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AtChannel } from '../../src/device/at/channel.js'
import { SPWF04_FRAMING } from '../../src/families/spwf04/framing.js'
import { LineReader, type ReaderEvent } from '../../src/device/at/line-reader.js'
import { isDeviceError } from '../../src/device/index.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'

const httpAnswer = Buffer.from(
  [
    'AT+S.HTTPGET=a.test,/,443,2,,,,', // echo
    'AT-S.Skip CA',
    '+WIND:16:Signal OK',
    'AT-S.Loading:1:2',
    'AT-S.Http Server Status Code:200',
    '78b7',
    '<html>AT-S.OK is not at line start</html>',
    '+WIND:84:NTP Server Delivery',
    'tail without newline then',
    'AT-S.OK',
  ].join('\r\n') + '\r\n',
  'latin1',
)

const bodyAfter = (l: string) => /^AT-S\.Http Server Status Code:2\d\d$/.test(l)

async function runOnce(split: (b: Buffer) => Buffer[]) {
  const t = scriptedTransport((w) => (w.startsWith('AT+S.HTTPGET') ? httpAnswer : null), split)
  const ch = new AtChannel(t, SPWF04_FRAMING)
  const winds: string[] = []
  ch.onWind((w) => winds.push(w))
  const r = await ch.exec('AT+S.HTTPGET=a.test,/,443,2,,,,', { timeoutMs: 2000, bodyAfter })
  return { r, winds }
}

test('a response split at every byte boundary parses the same, with indications mid-response', async () => {
  const whole = await runOnce((b) => [b])
  assert.equal(whole.r.ok, true)
  assert.deepEqual(whole.r.lines, ['AT-S.Skip CA', 'AT-S.Loading:1:2', 'AT-S.Http Server Status Code:200'])
  assert.equal(
    whole.r.body?.toString('latin1'),
    '78b7\r\n<html>AT-S.OK is not at line start</html>\r\ntail without newline then\r\n',
  )
  assert.deepEqual(whole.winds, ['+WIND:16:Signal OK', '+WIND:84:NTP Server Delivery'])
  for (let cut = 1; cut < httpAnswer.length; cut++) {
    const got = await runOnce((b) => [b.subarray(0, cut), b.subarray(cut)])
    assert.deepEqual(got.r.lines, whole.r.lines, `cut ${cut}`)
    assert.deepEqual(got.r.body, whole.r.body, `cut ${cut}`)
    assert.deepEqual(got.winds, whole.winds, `cut ${cut}`)
  }
  const bytewise = await runOnce((b) => [...b].map((x) => Buffer.from([x])))
  assert.deepEqual(bytewise.r.body, whole.r.body)
})

test('the final ERROR line ends a response and its lines are kept', async () => {
  const t = scriptedTransport(() =>
    Buffer.from('AT-S.Certificate Error:22\r\nAT-S.Http Client Error:2\r\nAT-S.ERROR:111:Request failed\r\n'),
  )
  const r = await new AtChannel(t, SPWF04_FRAMING).exec('AT+S.HTTPGET=a,/,443,2,,,,', { timeoutMs: 1000 })
  assert.equal(r.ok, false)
  assert.equal(r.final, 'AT-S.ERROR:111:Request failed')
  assert.deepEqual(r.lines, ['AT-S.Certificate Error:22', 'AT-S.Http Client Error:2'])
})

test('a module that stops answering gives AT_TIMEOUT, and the channel goes on afterwards', async () => {
  let answer = false
  const t = scriptedTransport(() => (answer ? Buffer.from('AT-S.OK\r\n') : Buffer.from('AT-S.Var:half')))
  const ch = new AtChannel(t, SPWF04_FRAMING)
  await assert.rejects(ch.exec('AT', { timeoutMs: 100 }), (e) => isDeviceError(e, 'AT_TIMEOUT'))
  answer = true
  ch.resync()
  assert.equal((await ch.exec('AT', { timeoutMs: 500 })).ok, true)
})

test('commands are serialized: one in flight at a time', async () => {
  const t = scriptedTransport(() => Buffer.from('AT-S.OK\r\n'))
  const ch = new AtChannel(t, SPWF04_FRAMING)
  await Promise.all([
    ch.exec('AT', { timeoutMs: 500 }),
    ch.exec('AT+S.STS', { timeoutMs: 500 }),
    ch.exec('AT+S.GCFG', { timeoutMs: 500 }),
  ])
  assert.deepEqual(t.written, ['AT\r', 'AT+S.STS\r', 'AT+S.GCFG\r'])
})

test('a reboot indication fails the command in flight', async () => {
  const t = scriptedTransport(() =>
    Buffer.from('AT-S.Skip CA\r\n+WIND:1:Poweron:170216-fd39c59-SPWF04S\r\n+WIND:0:Console active\r\n'),
  )
  const ch = new AtChannel(t, SPWF04_FRAMING)
  await assert.rejects(ch.exec('AT+S.HTTPGET=a,/,443,2,,,,', { timeoutMs: 1000 }), (e) =>
    isDeviceError(e, 'AT_REBOOTED'),
  )
})

test('the transcript keeps every byte both ways, with direction and time', async () => {
  const t = scriptedTransport(() => Buffer.from('AT-S.SubjectKeyId:01:02\r\nAT-S.OK\r\n'))
  const ch = new AtChannel(t, SPWF04_FRAMING)
  await ch.exec('AT+S.TLSCERT=ca,3', { timeoutMs: 500, payload: Buffer.from([0x30, 0x0d, 0x00]) })
  const [tx, rx] = ch.transcript.entries
  assert.equal(tx?.dir, 'tx')
  assert.equal(tx?.data, 'AT+S.TLSCERT=ca,3\r0\r\0')
  assert.equal(rx?.dir, 'rx')
  assert.ok((rx?.t ?? -1) >= 0)
})

test('garbage lines are bounded and do not end a response', () => {
  const events: ReaderEvent[] = []
  const r = new LineReader((e) => events.push(e))
  r.push(Buffer.alloc(20_000, 0x41))
  r.push(Buffer.from('\r\nAT-S.OK\r\n'))
  assert.equal(events.length, 2)
  const first = events[0]!
  assert.ok(first.type === 'line' && first.overflow)
  assert.deepEqual(events[1], { type: 'line', text: 'AT-S.OK' })
})

test('an indication that slips in before raw socket data is an indication, not data', () => {
  const events: ReaderEvent[] = []
  const r = new LineReader((e) => events.push(e))
  r.expectRaw(8)
  r.push(Buffer.from('+WIND:58:Socket Cl'))
  r.push(Buffer.from('osed:00:0\r\nHTTP/1.1OK\r\n'))
  assert.deepEqual(events[0], { type: 'line', text: '+WIND:58:Socket Closed:00:0' })
  assert.equal(
    Buffer.concat(events.filter((e) => e.type === 'raw').map((e) => (e as { bytes: Buffer }).bytes)).toString(),
    'HTTP/1.1',
  )
  assert.deepEqual(events[events.length - 1], { type: 'line', text: 'OK' })
})

test('after a reset whose poll timed out, the late answer is set aside: the next command reads its own answer', async () => {
  const { resetAndResync, DEFAULT_TIMEOUTS } = await import('../../src/device/drivers/common.js')
  // A slow machine: each AT poll is answered only after the poll gave up, ahead of the next
  // command's answer, so without care every later answer is read one command late.
  let owed = 0
  let polls = 0
  const t = scriptedTransport((w) => {
    const late = 'AT-S.OK\r\n'.repeat(owed)
    owed = 0
    if (w.startsWith('AT+S.RESET')) return Buffer.from('AT-S.OK\r\n+WIND:1:Poweron\r\n+WIND:0:Console active\r\n')
    if (w === 'AT\r') {
      owed = 1
      return ++polls === 1 ? null : Buffer.from(late)
    }
    if (w.startsWith('AT+S.STS=fw_version')) return Buffer.from(`${late}AT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n`)
    return Buffer.from(`${late}AT-S.ERROR:17:Invalid argument\r\n`)
  })
  const ch = new AtChannel(t, SPWF04_FRAMING)
  await resetAndResync(
    ch,
    'AT+S.RESET',
    /^\+WIND:0:Console active/,
    { ...DEFAULT_TIMEOUTS, resetMs: 5000 },
    { command: 'AT+S.STS=fw_version', line: /^AT-S\.Var:fw_version=/ },
  )
  const r = await ch.exec('AT+S.SCFG=nosuch,1', { timeoutMs: 2000 })
  assert.equal(r.ok, false, 'the command read its own ERROR, not a late OK')
  assert.equal(r.final, 'AT-S.ERROR:17:Invalid argument')
  assert.ok(
    ch.transcript.since(0).some((e) => e.dir === 'note' && /late answer set aside/.test(e.data)),
    'the set-aside answer is noted',
  )
})
