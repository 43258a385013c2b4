import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AtChannel } from '../../src/device/at/channel.js'
import { SPWF04_FRAMING } from '../../src/families/spwf04/framing.js'
import { LineReader, type ReaderEvent } from '../../src/device/at/line-reader.js'
import { Transcript } from '../../src/device/at/transcript.js'
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

test('the transcript cap is per request: a large answer early in a run leaves later requests their bytes', () => {
  let t = 0
  const tr = new Transcript(() => t++, 100)
  const first = tr.begin()
  tr.add('tx', 'AT+S.HTTPGET=big\r')
  tr.add('rx', 'x'.repeat(150))
  tr.add('rx', 'y'.repeat(30))
  const big = tr.since(first)
  assert.equal(big[0]?.data, 'AT+S.HTTPGET=big\r')
  // What did not fit is said, with how much: 180 bytes did not fit the 100-byte cap.
  assert.deepEqual(
    big.slice(1).map((e) => [e.dir, e.data]),
    [['note', '180 bytes left out of the transcript (cap 100 per request)']],
  )
  // The next request has the whole cap again, and its marks stay valid across the let-go entries.
  const second = tr.begin()
  assert.ok(second > first)
  tr.add('tx', 'AT+S.HTTPGET=small\r')
  tr.add('rx', 'AT-S.OK\r\n')
  assert.deepEqual(
    tr.since(second).map((e) => e.data),
    ['AT+S.HTTPGET=small\r', 'AT-S.OK\r\n'],
  )
  // A mark taken before the request began (the survey's own) reads from the request's start.
  assert.equal(tr.since(first).length, 2)
  assert.equal(tr.entries.length, 2, "the first request's entries were let go")
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

test('a body that holds AT-S.OK ends the answer as read; the rest waits for the next command, which sets it aside', async () => {
  // Issue 20 §1, at the channel: nothing frames an SPWF04SA body, so the body's own AT-S.OK ends
  // the answer. What follows is what a resynchronisation must find and set aside.
  const forged = 'AT-S.Loading:1:2\r\nAT-S.Http Server Status Code:200\r\nforged text\r\nAT-S.OK\r\n'
  const t = scriptedTransport((w) =>
    w.startsWith('AT+S.HTTPGET')
      ? Buffer.from(`AT-S.Http Server Status Code:200\r\nbody\r\nAT-S.OK\r\n+WIND:16:Signal OK\r\n${forged}`)
      : w.startsWith('AT+S.GCFG')
        ? Buffer.from('AT-S.OK\r\nAT-S.Var:v=t1\r\nAT-S.OK\r\n')
        : null,
  )
  const ch = new AtChannel(t, SPWF04_FRAMING)
  const r = await ch.exec('AT+S.HTTPGET=a,/,443,2,,,,', { timeoutMs: 1000, bodyAfter })
  assert.deepEqual([r.lines, r.body?.toString()], [['AT-S.Http Server Status Code:200'], 'body\r\n'])
  const g = await ch.exec('AT+S.GCFG=v', {
    timeoutMs: 1000,
    accept: (a) => a.lines.includes('AT-S.Var:v=t1'),
  })
  assert.deepEqual(g.lines, ['AT-S.Var:v=t1'])
  // The forged answer and the real module's OK before the echo: set aside, in order, not lost.
  assert.deepEqual(ch.takeStray().concat(g.setAside), [
    'AT-S.Loading:1:2',
    'AT-S.Http Server Status Code:200',
    'forged text',
    'AT-S.OK',
    'AT-S.OK',
  ])
})

test('quietMs: the time-out follows the bytes, so an answer still arriving is not cut; silence ends it', async (t) => {
  // The channel's timers and clock are the test's: the gaps between bytes are exact, whatever the machine.
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 0
  // Time passes, then whatever was waiting for it (a write, a timer's effect) has run.
  const pass = async (ms: number) => {
    now += ms
    t.mock.timers.tick(ms)
    await new Promise((r) => setImmediate(r))
  }
  const tr = scriptedTransport(() => null)
  const ch = new AtChannel(tr, SPWF04_FRAMING, () => now)
  const r = ch.exec('AT+S.GCFG=v', { timeoutMs: 5000, quietMs: 150 })
  // Lines keep arriving, each within the quiet time of the last, for longer than the quiet time.
  await pass(0)
  for (let i = 0; i < 6; i++) {
    await pass(100)
    tr.emit(Buffer.from('+WIND:16:Signal OK\r\n'))
  }
  tr.emit(Buffer.from('AT-S.Var:v=1\r\nAT-S.OK\r\n'))
  assert.deepEqual((await r).lines, ['AT-S.Var:v=1'])
  const seen: { err: unknown } = { err: null }
  const silent = ch.exec('AT+S.GCFG=v', { timeoutMs: 5000, quietMs: 150 }).catch((e: unknown) => {
    seen.err = e
  })
  await pass(0)
  await pass(149)
  assert.equal(seen.err, null, 'not before the quiet time')
  await pass(1)
  await silent
  const err = seen.err as unknown
  assert.ok(isDeviceError(err, 'AT_TIMEOUT') && /150 ms of silence/.test(err.message), String(err))
})

test('lines per answer are capped: a flood is cut and marked, never judged complete', async () => {
  const { MAX_RESPONSE_LINES } = await import('../../src/device/at/channel.js')
  const flood = Buffer.from(`${'AT-S.Skip CA\r\n'.repeat(MAX_RESPONSE_LINES + 100)}AT-S.OK\r\n`)
  const t = scriptedTransport(() => flood)
  const r = await new AtChannel(t, SPWF04_FRAMING).exec('AT+S.HTTPGET=a,/,443,2,,,,', { timeoutMs: 2000 })
  assert.equal(r.lines.length, MAX_RESPONSE_LINES + 1)
  assert.equal(r.lines.at(-1), '…(100 more lines)')
})

test('a command pending when the port closes is rejected at once and leaves no timer behind', async () => {
  const t = scriptedTransport(() => null)
  const ch = new AtChannel(t, SPWF04_FRAMING)
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = timers()
  const r = ch.exec('AT+S.HTTPGET=a,/,443,2,,,,', { timeoutMs: 600_000 })
  // The command is sent (and its timer set) once the commands queued before it are done.
  while (t.written.length === 0) await new Promise((res) => setImmediate(res))
  assert.equal(timers(), before + 1)
  t.hangUp()
  await assert.rejects(r, (e) => isDeviceError(e, 'AT_CLOSED'))
  // An abandoned request (Ctrl-C) must not keep the process alive for its device time-out.
  assert.equal(timers(), before)
})
