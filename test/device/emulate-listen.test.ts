import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { systemClock } from '../../src/core/clock.js'
import { familyOf, loadProfile } from '../../src/families/index.js'
import { NO_FAULTS } from '../../src/emulator/faults.js'
import { startEmulator } from '../../src/emulator/serve.js'
import { waitFor } from '../helpers/wait.js'

/** A real TCP client of the emulator: what it received, and whether the emulator closed it. */
async function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1')
  let got = ''
  let closed = false
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1')
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
  })
  await new Promise<void>((r) => socket.once('connect', () => r()))
  return {
    socket,
    got: () => got,
    closed: () => closed,
    /** Sends a command and waits for one more final line than before. */
    async ask(cmd: string): Promise<string> {
      const before = got.length
      socket.write(`${cmd}\r`)
      await waitFor(() => /AT-S\.OK\r\n|AT-S\.ERROR/.test(got.slice(before)) || closed, `an answer to ${cmd}`)
      return got.slice(before)
    },
  }
}

test('emulate --listen: a second client is refused while one holds the line; the first keeps it, untouched', async (t) => {
  const notices: string[] = []
  const profile = await loadProfile('spwf04sa-1.1.0')
  const emu = await startEmulator({
    profile,
    dialect: familyOf(profile.dialect).emulator,
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    resolveMap: new Map(),
    baud: 115200,
    rtcAtBoot: new Date(),
    wifi: true,
    faults: NO_FAULTS,
    seed: 1,
    requestTimeoutMs: 5000,
    dnsOff: true,
    clock: systemClock,
    log: () => {},
    notice: (m) => notices.push(m),
    error: (m) => assert.fail(m),
  })
  t.after(() => emu.close())
  const port = Number(/:(\d+)$/.exec(emu.url)![1])

  const first = await client(port)
  t.after(() => first.socket.destroy())
  assert.match(await first.ask('AT'), /AT-S\.OK\r\n/)

  const second = await client(port)
  t.after(() => second.socket.destroy())
  // What the newcomer sends never reaches the module (its answer would go to the first client).
  second.socket.write('AT\r')
  // The emulator closes the newcomer at once, having sent it nothing.
  await waitFor(() => second.closed() || first.closed(), 'one of the two clients to be closed')
  assert.equal(first.closed(), false, 'the first client lost the line')
  assert.equal(second.closed(), true)
  assert.equal(second.got(), '')
  assert.equal(notices.length, 1, notices.join('\n'))
  assert.match(notices[0]!, /refused a second client \(127\.0\.0\.1:\d+\): the line is held by 127\.0\.0\.1:\d+/)

  // The first client still has the line: its commands are answered, to it alone, and nothing else.
  assert.equal(first.closed(), false)
  const heard = first.got().length
  assert.match(await first.ask('AT+S.STS=ip_ipaddr'), /AT-S\.Var:ip_ipaddr=192\.168\.0\.50\r\nAT-S\.OK\r\n/)
  assert.doesNotMatch(
    first.got().slice(heard),
    /^(AT\r\n)?AT-S\.OK/,
    'an answer to the refused client reached the first',
  )

  // Once the first has hung up, the line is free for the next one.
  first.socket.end()
  await waitFor(() => first.closed(), 'the first client to leave')
  const third = await client(port)
  t.after(() => third.socket.destroy())
  assert.match(await third.ask('AT'), /AT-S\.OK\r\n/)
  assert.equal(third.closed(), false)
})
