import { after, before, describe, test } from 'node:test'
import { spawn } from 'node:child_process'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import assert from 'node:assert/strict'
import { run } from '../../src/cli/run.js'
import { SerialPort } from 'serialport'
import { openFailure } from '../../src/doctor/index.js'
import { lockDevice } from '../../src/device/index.js'
import { testIo } from '../helpers/io.js'
import { ptyEmulator } from '../helpers/pty-emulator.js'
import { MAIN } from '../helpers/spawn-cli.js'
import { waitFor } from '../helpers/wait.js'

interface Step {
  step: string
  status: 'ok' | 'fail' | 'skipped'
  detail: string
  fix: string | null
}
interface Report {
  device: string
  url: string
  ready: boolean
  module: { module: string; firmware: string; profile: string } | null
  steps: Step[]
}

const stepOf = (r: Report, id: string) => r.steps.find((s) => s.step === id)

describe('tlsmatrix doctor', { timeout: 300_000 }, () => {
  // End to end, with processes: the line speed is a pseudo-terminal's (the emulator process reads
  // the speed the client set on it), found by doctor's rate search through serialport.
  describe('a module at 9600 baud behind a pseudo-terminal', () => {
    let emu: Awaited<ReturnType<typeof ptyEmulator>>
    before(async () => {
      emu = await ptyEmulator(['--firmware', 'spwf04sa-1.1.0', '--baud', '9600'])
    })
    after(async () => emu.stop())

    test('at the default 115200 it reads garbage, finds 9600, names the URL, and checks the rest at 9600 (exit 1)', async () => {
      const io = testIo()
      assert.equal(await run(['doctor', '--device', emu.path, '--json'], io), 1, io.err())
      const r = JSON.parse(io.out()) as Report
      assert.equal(r.ready, false)
      assert.equal(r.url, `${emu.path}?baud=9600`)
      const baud = stepOf(r, 'baud')!
      assert.equal(baud.status, 'fail')
      assert.match(baud.detail, /to AT at 115200 baud; the module answers at 9600/)
      assert.match(baud.fix!, new RegExp(`use --device ${emu.path.replace(/\//g, '\\/')}\\?baud=9600`))
      // Everything after the line speed was checked at the speed found.
      assert.deepEqual(
        r.steps.map((s) => [s.step, s.status]),
        [
          ['port', 'ok'],
          ['lock', 'ok'],
          ['baud', 'fail'],
          ['module', 'ok'],
          ['console', 'ok'],
          ['clock', 'ok'],
          ['wifi', 'ok'],
          ['dns', 'skipped'],
          ['ca', 'ok'],
        ],
      )
      assert.equal(r.module?.profile, 'spwf04sa-1.1.0')
    })

    test('at the URL it named, the bench is ready (exit 0), the CA store reports the key id', async () => {
      const io = testIo()
      assert.equal(await run(['doctor', '--device', `${emu.path}?baud=9600`], io), 0, io.out() + io.err())
      assert.match(io.out(), /^✓ line speed: AT answered at 9600 baud$/m)
      assert.match(io.out(), /^✓ CA store: took a \d+-byte CA, reports its key id [0-9a-f]{40}$/m)
      assert.match(io.out(), /^ready for a survey: tlsmatrix run --hosts FILE --device \/dev\/\S+\?baud=9600$/m)
    })

    test('a port another run holds is not opened: the holder is named (exit 1)', async () => {
      const release = await lockDevice(`${emu.path}?baud=9600`, 'run-on-the-bench')
      try {
        const io = testIo()
        assert.equal(await run(['doctor', '--device', emu.path], io), 1, io.err())
        assert.match(
          io.out(),
          new RegExp(`^✗ not in use: .* is in use by run run-on-the-bench \\(pid ${process.pid}, `, 'm'),
        )
        assert.match(io.out(), /^ {4}fix: wait for that run to finish, or stop it/m)
        assert.doesNotMatch(io.out(), /line speed/)
      } finally {
        release()
      }
    })

    test('a port another program has open (a terminal left on it): the fix says how to find it (exit 1)', async () => {
      const other = new SerialPort({ path: emu.path, baudRate: 9600, autoOpen: false })
      await new Promise<void>((resolve, reject) => other.open((err) => (err ? reject(err) : resolve())))
      try {
        const io = testIo()
        assert.equal(await run(['doctor', '--device', `${emu.path}?baud=9600`], io), 1, io.err())
        assert.ok(
          io.out().includes(`✗ port: ${emu.path}: another program has the port open\n    fix: close it`),
          io.out(),
        )
        assert.ok(io.out().includes(`\`fuser -v ${emu.path}\` names it\n`), io.out())
      } finally {
        await new Promise<void>((resolve) => other.close(() => resolve()))
      }
    })

    test('Ctrl-C during the rate search stops at once (exit 3), and the port is free again', async () => {
      const io = testIo()
      const exit = run(['doctor', '--device', emu.path], io)
      await waitFor(() => /not in use/.test(io.out()), 'the doctor to reach the line speed')
      io.interrupt()
      assert.equal(await exit, 3)
      assert.match(io.err(), /interrupted: doctor abandoned/)
      const again = testIo()
      assert.equal(await run(['doctor', '--device', `${emu.path}?baud=9600`], again), 0, again.out() + again.err())
    })
  })

  // End to end, with processes: a pseudo-terminal's line speed, and `emulate --listen` as a serial server.
  test('an ESP-AT module (commands end at LF) behind a pseudo-terminal and a serial server: AT is answered, the bench is ready (exit 0)', async () => {
    const emu = await ptyEmulator(['--firmware', 'esp-at-3.3-esp32c3'])
    try {
      const io = testIo()
      assert.equal(await run(['doctor', '--device', emu.path], io), 0, io.out() + io.err())
      assert.match(io.out(), /^✓ line speed: AT answered at 115200 baud$/m)
      assert.match(io.out(), /^✓ module: ESP32-C3 firmware 3\.3\.0 build 3\.3\.0\.0: profile esp-at-3\.3-esp32c3$/m)
    } finally {
      await emu.stop()
    }
    // At another speed the search finds it, and the fix names the ESP-AT command that sets it back.
    const slow = await ptyEmulator(['--firmware', 'esp-at-3.3-esp32c3', '--baud', '9600'])
    try {
      const io = testIo()
      assert.equal(await run(['doctor', '--device', slow.path, '--json'], io), 1, io.err())
      const baud = stepOf(JSON.parse(io.out()) as Report, 'baud')!
      assert.match(baud.detail, /the module answers at 9600/)
      assert.match(baud.fix!, /set the module back: AT\+UART_DEF=115200,8,1,0,0\)$/)
    } finally {
      await slow.stop()
    }
    const server = spawn(
      process.execPath,
      [
        ...process.execArgv,
        MAIN,
        'emulate',
        '--firmware',
        'esp-at-5.0-esp32c5',
        '--listen',
        'tcp://127.0.0.1:0',
        '--exit-with-stdin',
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    )
    try {
      const url = await new Promise<string>((r) => createInterface({ input: server.stdout }).once('line', r))
      const io = testIo()
      assert.equal(await run(['doctor', '--device', url], io), 0, io.out() + io.err())
      assert.match(io.out(), /^✓ line speed: AT answered through the serial server/m)
    } finally {
      server.stdin.end()
      await new Promise((r) =>
        server.exitCode !== null || server.signalCode !== null ? r(null) : server.once('exit', r),
      )
    }
  })

  // End to end, with a process: the emulator process behind the pseudo-terminal is killed -9.
  test('a module that goes away mid-way: the step says so and the exit is 3', async () => {
    // The module's DNS request goes to a server that never answers: the doctor is held there, on
    // the DNS step, for as long as the test needs.
    const sockets: Socket[] = []
    const held = createServer((s) => {
      sockets.push(s)
      s.on('error', () => {})
      s.resume()
    })
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r))
    const connections = () => sockets.length
    const port = (held.address() as AddressInfo).port
    const emu = await ptyEmulator([
      '--firmware',
      'spwf04sa-1.1.0',
      '--connect-to',
      `probe.test:443:127.0.0.1:${port}`,
      '--request-timeout-ms',
      '600000',
    ])
    try {
      const io = testIo()
      const exit = run(['doctor', '--device', emu.path, '--probe-host', 'probe.test'], io)
      await waitFor(() => connections() > 0, "the module's request for the DNS step")
      assert.match(io.out(), /^✓ module:/m)
      emu.child.kill('SIGKILL')
      assert.equal(await exit, 3, io.out())
      assert.match(
        io.out(),
        /^✗ [^\n]+: \/dev\/\S+ closed[^\n]*\n {4}fix: the port went away: check the cable and power, then run doctor again$/m,
      )
      assert.match(io.err(), /^device lost: /m)
    } finally {
      await emu.stop()
      for (const s of sockets) s.destroy()
      await new Promise((r) => held.close(r))
    }
  })

  test("permission denied names the dialout group on Linux (the system's words; a root test run cannot be refused)", () => {
    const f = openFailure('/dev/ttyUSB0', new Error('Error: Permission denied, cannot open /dev/ttyUSB0'))
    assert.equal(f.detail, '/dev/ttyUSB0: permission denied')
    if (process.platform === 'linux') assert.match(f.fix, /^sudo usermod -aG dialout \$USER, then log out and in again/)
  })

  test('a module with no network: Wi-Fi fails with the join commands, DNS is not tried (exit 1)', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(['doctor', '--device', 'emu:spwf01sa-3.5.3?no-wifi', '--probe-host', 'example.test'], io),
      1,
      io.err(),
    )
    assert.match(io.out(), /^✓ module: SPWF01SA firmware 3\.5\.3 build 170111-665d284: profile spwf01sa-3\.5\.3$/m)
    assert.match(io.out(), /^✗ Wi-Fi: not joined: no address\n {4}fix: join a network once: AT\+S\.SSIDTXT=<ssid>, /m)
    assert.match(io.out(), /^– DNS: not checked: no Wi-Fi$/m)
    assert.match(io.out(), /^1 step failed: not ready for a survey$/m)
  })

  test("--probe-host the module cannot resolve fails DNS with the module's own line (exit 1)", async () => {
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(['doctor', '--device', 'emu:spwf04sa-1.0.0?no-dns', '--probe-host', 'example.test', '--json'], io),
      1,
      io.err(),
    )
    const dns = stepOf(JSON.parse(io.out()) as Report, 'dns')!
    assert.equal(dns.status, 'fail')
    assert.match(dns.detail, /example\.test did not resolve: AT-S\.ERROR:65:DNS address failure/)
  })

  test('a module that restarts now and then: each step is asked again after a resync, never blamed (exit 0)', async () => {
    const io = testIo({ inProcess: true })
    // The faults fall on command numbers: a seed under which some step meets a restart and the
    // module comes back each time (it depends on the driver's command sequence).
    assert.equal(
      await run(['doctor', '--device', 'emu:spwf04sa-1.1.0?faults=reboot=0.2&seed=1'], io),
      0,
      io.out() + io.err(),
    )
    assert.match(io.out(), /\(asked [23] times: the module restarted/)
  })

  test('a line that drops every answer fails the steps on the line, with the wiring fix (exit 1)', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0?faults=drop=1', '--json'], io), 1, io.err())
    const r = JSON.parse(io.out()) as Report
    const consoleStep = stepOf(r, 'console')!
    assert.equal(consoleStep.status, 'fail')
    assert.match(consoleStep.detail, /no final answer to AT\+S\.SCFG=console_errs,2/)
    assert.match(consoleStep.fix!, /check wiring, ground, the baud rate and flow control/)
    assert.equal(stepOf(r, 'clock')!.status, 'skipped')
  })

  test('a port that does not exist: the first step fails with the fix (exit 1)', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', '/dev/ttyNOPE0'], io), 1)
    assert.equal(
      io.out(),
      '✗ port: /dev/ttyNOPE0 does not exist (is the module plugged in? ls /dev/tty*)\n    fix: plug the module in (and power it); `ls /dev/serial/by-id/` names USB serial adapters\n1 step failed: not ready for a survey\n',
    )
  })

  test('a bad URL or --probe-host is a usage error (exit 2)', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', 'serial:///dev/ttyS0'], io), 2)
    assert.match(io.err(), /TRANSPORT_INVALID/)
    const io2 = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0', '--probe-host', 'a,b'], io2), 2)
    assert.match(io2.err(), /USAGE: --probe-host a,b: expected a DNS name/)
    // A line break in the value is shown escaped: the error stays one line, nothing forged after it.
    const io3 = testIo({ inProcess: true })
    assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0', '--probe-host', 'a\r\nb'], io3), 2)
    assert.equal(io3.err().trim().split('\n').length, 1, io3.err())
    // The module is asked to resolve it: an address, or a name a resolver reads as one, is no name to look up.
    for (const host of ['192.0.2.1', 'printer.10']) {
      const io4 = testIo()
      assert.equal(await run(['doctor', '--device', 'emu:spwf04sa-1.1.0', '--probe-host', host], io4), 2, host)
      assert.match(io4.err(), /USAGE: --probe-host .*: expected a DNS name \(the last label is numeric/)
    }
  })
})
