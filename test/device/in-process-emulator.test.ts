import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { run } from '../../src/cli/run.js'
import type { OpenedModule } from '../../src/device/index.js'
import type { Transport } from '../../src/device/transport/transport.js'
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js'
import { emulatorSettings } from '../../src/emulator/settings.js'
import { FAMILIES, openModule } from '../../src/families/index.js'
import { inProcessEmulator } from '../../src/families/in-process.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'
import { labChainServer, RequestGate } from '../helpers/lab-server.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The in-process emulator (src/emulator/in-process.ts) that tests about logic use instead of a
 * `tlsmatrix emulate` process: the runner must see the same bytes through the same Transport, and
 * nothing else. One test here starts the emulator process too, to compare the two on the wire.
 */

const rxOf = (m: OpenedModule) =>
  m.channel.transcript
    .since(0)
    .filter((e) => e.dir === 'rx')
    .map((e) => e.data)
    .join('')
const txOf = (m: OpenedModule) =>
  m.channel.transcript
    .since(0)
    .filter((e) => e.dir === 'tx')
    .map((e) => e.data)
    .join('')

/** A few turns of the event loop: what the emulator had scheduled has run. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

const open = (firmware: string, params = '') =>
  inProcessEmulator({ firmware, resolve: [], params: new URLSearchParams(params) })

/** Everything the transport sends until `until` matches, or what it sent when the wait gave up. */
async function readUntil(t: Transport, until: RegExp, what: string): Promise<string> {
  let got = ''
  t.onData((b) => {
    got += b.toString('latin1')
  })
  await waitFor(() => until.test(got), `${what} (got ${JSON.stringify(got)})`, 10_000)
  return got
}

describe('the in-process emulator', () => {
  test('gives a Transport and nothing beside it: no handle on the module reaches the runner', async () => {
    const t = await open('spwf04sa-1.1.0')
    try {
      assert.deepEqual(Object.keys(t).sort(), ['close', 'describe', 'onClose', 'onData', 'onNote', 'write'])
    } finally {
      await t.close()
    }
  })

  test('bytes written reach the module, its answer comes back as bytes; the boot banner waits for a listener', async () => {
    const t = await open('spwf04sa-1.1.0')
    try {
      // Nobody listens yet: the banner is held, as a port's buffer holds what arrived before it was read.
      await turns(3)
      await t.write(Buffer.from('AT\r'))
      const got = await readUntil(t, /AT-S\.OK\r\n$/, 'the answer to AT')
      assert.match(got, /^\+WIND:1:Poweron:[^\r]+\r\n/, 'the banner, from its first byte')
      assert.match(got, /\+WIND:0:Console active\r\n[^]*AT-S\.OK\r\n$/)
    } finally {
      await t.close()
    }
  })

  test('a write is not answered inside it: the answer comes on a later turn, as from a port', async () => {
    const t = await open('esp-at-3.3-esp32c3')
    try {
      let got = ''
      t.onData((b) => {
        got += b.toString('latin1')
      })
      await readUntil(t, /WIFI GOT IP\r\n$/, 'the banner')
      got = ''
      await t.write(Buffer.from('AT\r\n'))
      assert.equal(got, '', 'nothing arrived while the write ran')
      await waitFor(() => got.endsWith('OK\r\n'), 'the answer')
      assert.equal(got, 'AT\r\n\r\nOK\r\n')
    } finally {
      await t.close()
    }
  })

  test('the URL options set the module as `emulate` flags would: a fault by command number, its error as a note', async () => {
    const t = await open('spwf04sa-1.1.0', 'faults=internal@0')
    const notes: string[] = []
    t.onNote!((n) => notes.push(n))
    try {
      await t.write(Buffer.from('AT+S.STS=build\r'))
      await waitFor(() => notes.length > 0, 'the emulator error note')
      assert.match(notes[0]!, /^emulator: AT\+S\.STS=build: internal error injected by --faults$/)
    } finally {
      await t.close()
    }
  })

  test('closed: its own close is reported, a write is refused, and nothing more arrives', async () => {
    const t = await open('spwf04sa-1.1.0')
    let closes = 0
    let after = ''
    t.onClose(() => closes++)
    await t.write(Buffer.from('AT\r'))
    await t.close()
    t.onData((b) => {
      after += b.toString('latin1')
    })
    await turns(3)
    assert.equal(closes, 1)
    await assert.rejects(t.write(Buffer.from('AT\r')), /is not open/)
    assert.equal(after, '', 'the answer to a command sent before the close is lost with the module')
  })

  test('closed mid-request: the connection it made closes with it, not at its request time-out', async () => {
    const lab = await startTestLab()
    const gate = new RequestGate(0)
    const server = await labChainServer(lab, 'rsa2048.basic.test', 'held\r\n', { gate })
    const m = await openModule('emu:spwf04sa-1.1.0?no-dns&request-timeout-ms=600000', {
      emulator: inProcessEmulator,
      resolve: [`rsa2048.basic.test:${server.port}:127.0.0.1`],
    })
    try {
      await m.driver.prepare(new Date())
      await m.driver.clean()
      await m.driver.uploadCa(lab.pki.certs.get('root-rsa')!.der)
      const request = m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: server.port })
      request.catch(() => {})
      await waitFor(() => gate.held() === 1, 'the request at the server')
      await m.transport.close()
      // The module would wait ten minutes for the answer; powered off, it waits for nothing.
      await waitFor(() => server.connections() === 0, 'the connection to close')
    } finally {
      await m.transport.close()
      await server.close()
      await lab.close()
    }
  })

  test("settings: emulate's defaults, each URL option read, an unknown one refused", async () => {
    const d = emulatorSettings(new URLSearchParams(''))
    assert.deepEqual(
      [d.baud, d.seed, d.requestTimeoutMs, d.rtcAtBoot.toISOString(), d.wifi, d.dnsOff],
      [115200, 1, 15000, '2000-01-01T00:00:00.000Z', true, false],
    )
    // The same defaults as the emulate process: its --help says them.
    const help = testIo()
    await run(['emulate', '--help'], help)
    const said = help.out().replace(/\s+/g, ' ')
    assert.match(said, new RegExp(`--baud <n> line speed used for pacing \\(default: ${EMULATOR_DEFAULTS.baud}\\)`))
    assert.match(said, new RegExp(`--seed <n> fault seed \\(default: ${EMULATOR_DEFAULTS.seed}\\)`))
    assert.match(said, new RegExp(`waits for a server \\(default: ${EMULATOR_DEFAULTS.requestTimeoutMs}\\)`))
    assert.match(said, new RegExp(`--clock <iso> module clock at power-on \\(default ${EMULATOR_DEFAULTS.clock}\\)`))
    const s = emulatorSettings(
      new URLSearchParams('no-wifi&no-dns&seed=7&clock=2030-05-01T00:00:00Z&request-timeout-ms=500&faults=stall@3'),
    )
    assert.deepEqual(
      [s.wifi, s.dnsOff, s.seed, s.rtcAtBoot.toISOString(), s.requestTimeoutMs, s.faults.at.get(3)],
      [false, true, 7, '2030-05-01T00:00:00.000Z', 500, 'stall'],
    )
    assert.throws(() => emulatorSettings(new URLSearchParams('log')), /unknown option "log"/)
  })

  // The one comparison with the process: it starts `tlsmatrix emulate` once per family.
  test('opening a module of every family: the same commands and, past the boot banner, the same bytes as the emulator process', async () => {
    const firmware = new Map([
      ['spwf04', 'spwf04sa-1.1.0'],
      ['spwf01', 'spwf01sa-3.5.3'],
      ['esp-at', 'esp-at-3.3-esp32c3'],
    ])
    assert.deepEqual(
      FAMILIES.map((f) => f.dialect),
      [...firmware.keys()],
      'a profile of every family',
    )
    // The families side by side: three emulator processes start at once.
    await Promise.all(
      [...firmware.values()].map(async (fw) => {
        const viaProcess = await openModule(`emu:${fw}`)
        const inProcess = await openModule(`emu:${fw}`, { emulator: inProcessEmulator })
        try {
          assert.match(viaProcess.transport.describe, /^emu:\S+ \(\/dev\//, 'the default is the process on a pty')
          assert.match(inProcess.transport.describe, /\(in process\)$/)
          assert.deepEqual(inProcess.identity, viaProcess.identity)
          assert.equal(txOf(inProcess), txOf(viaProcess))
          // The process's banner is cut where the pseudo-terminal was opened; from the first answer on they agree.
          const fromFirstAt = (rx: string) => rx.slice(rx.indexOf('AT\r\n'))
          assert.equal(fromFirstAt(rxOf(inProcess)), fromFirstAt(rxOf(viaProcess)))
          assert.ok(rxOf(inProcess).endsWith(rxOf(viaProcess).slice(-200)))
        } finally {
          await viaProcess.transport.close()
          await inProcess.transport.close()
        }
      }),
    )
  })

  test('the CLI uses it only when its Io says so: `doctor` on an emu: URL starts the process otherwise', async () => {
    const inProcess = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0', '--json'], inProcess), 0, inProcess.err())
    const port = (io: ReturnType<typeof testIo>) =>
      (JSON.parse(io.out()) as { steps: Array<{ step: string; detail: string }> }).steps.find((s) => s.step === 'port')!
        .detail
    assert.match(port(inProcess), /^emu:spwf04sa-1\.1\.0 \(in process\) started and opened$/)
    const asUsers = testIo()
    assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0', '--json'], asUsers), 0, asUsers.err())
    assert.match(port(asUsers), /^emu:spwf04sa-1\.1\.0 \(\/dev\/pts\/\d+\) started and opened$/)
  })
})
