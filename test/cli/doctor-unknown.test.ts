import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer, type Server } from 'node:net'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'
import { ptyEmulator } from '../helpers/pty-emulator.js'
import { tcpEmulator } from '../helpers/tcp-emulator.js'

interface Step {
  step: string
  status: 'ok' | 'fail' | 'unknown' | 'skipped'
  detail: string
  fix: string | null
}
interface Report {
  ready: boolean
  steps: Step[]
}

const stepOf = (r: Report, id: string) => r.steps.find((s) => s.step === id)!

async function doctorJson(args: string[], exit: number): Promise<Report> {
  const io = testIo({ inProcess: true })
  assert.equal(await run(['doctor', ...args, '--json'], io), exit, io.out() + io.err())
  return JSON.parse(io.out()) as Report
}

/**
 * A serial server in front of the module whose firmware lacks one command: the bytes of `command`
 * on their way to the module become `instead` (a command it does not know), so the module itself
 * answers with its own refusal. Everything else passes untouched, both ways.
 */
async function withoutCommand(
  port: number,
  command: string,
  instead: string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    let held = ''
    client.on('data', (d: Buffer) => {
      let text = held + d.toString('latin1')
      text = text.split(command).join(instead)
      // A chunk may end inside the command: hold that tail (never more than the command's length).
      held = ''
      for (let n = Math.min(command.length - 1, text.length); n > 0; n--)
        if (command.startsWith(text.slice(-n))) {
          held = text.slice(-n)
          text = text.slice(0, -n)
          break
        }
      upstream.write(Buffer.from(text, 'latin1'))
    })
    upstream.on('data', (d: Buffer) => client.write(d))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `tcp://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}

describe('doctor says what it could not read, and each family gets its own fix', { timeout: 300_000 }, () => {
  test('ESP-AT before 5.0 (ERROR alone, no +ERRNO): a failed request cannot tell DNS, so DNS is unknown, not "resolved"', async () => {
    const r = await doctorJson(['--device', 'emu:esp-at-3.3-esp32c3?no-dns', '--probe-host', 'example.test'], 0)
    const dns = stepOf(r, 'dns')
    assert.equal(dns.status, 'unknown', JSON.stringify(dns))
    assert.match(dns.detail, /^could not tell whether example\.test resolved: the request failed with "ERROR"/)
    assert.doesNotMatch(dns.detail, /resolved \(/)
    assert.match(dns.fix!, /AT\+CIPDOMAIN="<name>"/)
    // The last line does not say ready: it says what could not be checked.
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(['doctor', '--device', 'emu:esp-at-3.3-esp32c3?no-dns', '--probe-host', 'example.test'], io),
      0,
    )
    assert.match(io.out(), /^\? DNS: could not tell whether example\.test resolved/m)
    assert.match(io.out(), /^no step failed, 1 could not be checked \(DNS\); a survey will tell: tlsmatrix run /m)
    assert.doesNotMatch(io.out(), /ready for a survey/)
  })

  test("ESP32-C5 (ESP-AT 5.0): a name that does not resolve fails DNS with ESP-AT's fix, no SPWF command", async () => {
    const r = await doctorJson(['--device', 'emu:esp-at-5.0-esp32c5?no-dns', '--probe-host', 'example.test'], 1)
    const dns = stepOf(r, 'dns')
    assert.equal(dns.status, 'fail')
    assert.match(dns.detail, /example\.test did not resolve/)
    assert.match(dns.fix!, /AT\+CIPDNS=1,"<addr>"/)
    assert.doesNotMatch(dns.fix!, /AT\+S\./)
    // The SPWF04SA keeps its own.
    const spwf = stepOf(
      await doctorJson(['--device', 'emu:spwf04sa-1.0.0?no-dns', '--probe-host', 'example.test'], 1),
      'dns',
    )
    assert.match(spwf.fix!, /AT\+S\.SCFG=ip_dns1,<addr>, AT\+S\.WCFG, AT\+S\.RESET/)
    assert.doesNotMatch(spwf.fix!, /CIPDNS/)
  })

  // End to end, with a process: the line speed is a pseudo-terminal's, read by the emulator process.
  // ESP-AT's fix (AT+UART_DEF) is asserted the same way in test/cli/doctor.test.ts.
  test("a module at another speed: the fix sets that family's console back (SPWF04SA: console_speed, no ESP-AT command)", async () => {
    for (const [firmware, own, other] of [
      [
        'spwf04sa-1.1.0',
        /set the module back: AT\+S\.SCFG=console_speed,115200, AT\+S\.WCFG, AT\+S\.RESET\)$/,
        /UART_DEF/,
      ],
    ] as const) {
      const emu = await ptyEmulator(['--firmware', firmware, '--baud', '9600'])
      try {
        const baud = stepOf(await doctorJson(['--device', emu.path], 1), 'baud')
        assert.equal(baud.status, 'fail')
        assert.match(baud.detail, /the module answers at 9600/)
        assert.match(baud.fix!, new RegExp(`^use --device ${emu.path.replace(/\//g, '\\/')}\\?baud=9600 \\(or `))
        assert.match(baud.fix!, own)
        assert.doesNotMatch(baud.fix!, other)
      } finally {
        await emu.stop()
      }
    }
  })

  for (const [firmware, command, instead, answer] of [
    ['spwf01sa-3.5.3', 'AT+S.STS=ip_ipaddr', 'AT+S.NOSUCH', 'ERROR: Command not found'],
    ['spwf04sa-1.1.0', 'AT+S.STS=ip_ipaddr', 'AT+S.NOSUCH', 'AT-S.ERROR:'],
    ['esp-at-3.3-esp32c3', 'AT+CIPSTA?', 'AT+NOSUCH?', 'ERR CODE:0x'],
  ] as const) {
    test(`${firmware} that refuses ${command}: Wi-Fi "could not read (module said …)", not "not joined"`, async () => {
      // The module on a TCP port (served by this process), as a serial server shows it.
      const emu = await tcpEmulator(firmware)
      const proxy = await withoutCommand(Number(/:(\d+)$/.exec(emu.url)![1]), command, instead)
      try {
        const r = await doctorJson(['--device', proxy.url], 0)
        const wifi = stepOf(r, 'wifi')
        assert.equal(wifi.status, 'unknown', JSON.stringify(wifi))
        assert.ok(wifi.detail.startsWith(`could not read the address: ${command} answered "${answer}`), wifi.detail)
        assert.doesNotMatch(wifi.detail, /not joined/)
        assert.match(wifi.fix!, /^if it has not joined: join a network once: /)
        assert.equal(r.ready, true)
      } finally {
        proxy.server.close()
        await emu.close()
      }
    })
  }
})
