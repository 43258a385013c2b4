import { write as fsWrite } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import tty from 'node:tty'
import { CertCache } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import type { ResolveMap } from '../hosts/index.js'
import type { FirmwareProfile } from '../profile/profile.js'
import type { FaultPlan } from './faults.js'
import { EmulatedModule, type DialectHandler } from './module.js'
import { garble, ptyLineSpeed, speedsMismatch } from './line-speed.js'
import { Pacer } from './pacing.js'
import { openPtyPair } from './pty-pair.js'

export interface EmulatorOptions {
  profile: FirmwareProfile
  /** The command set of the profile's dialect (its family's emulator handler). */
  dialect: DialectHandler
  listen: { kind: 'pty' } | { kind: 'tcp'; host: string; port: number }
  resolveMap: ResolveMap
  baud: number
  rtcAtBoot: Date
  wifi: boolean
  faults: FaultPlan
  seed: number
  /** How long the module waits for a server (connect, handshake, response). */
  requestTimeoutMs: number
  dnsOff: boolean
  clock: Clock
  log: (msg: string) => void
  /** What a user must hear even without --log (a client refused), one line each; `log` when absent. */
  notice?: (msg: string) => void
  /** The emulator's own failures, one line each (the emu: transport keeps them as transcript notes). */
  error: (msg: string) => void
}

export interface EmulatorStats {
  bytesIn: number
  bytesOut: number
  commands: number
  requests: number
  /** Connect plus TLS handshake time of every request the module made. */
  handshakeMs: number
  /** Whole network time of every request (connect, handshake, HTTP). */
  networkMs: number
}

export interface RunningEmulator {
  /** What to connect to: the pseudo-terminal path or tcp://127.0.0.1:<port>. */
  url: string
  stats(): EmulatorStats
  close(): Promise<void>
}

/**
 * Serves an emulated module on a pseudo-terminal (a node-pty pair, so `npm install` is
 * all the set-up) or on a TCP port, bytes paced at the baud rate both ways.
 */
export async function startEmulator(opts: EmulatorOptions): Promise<RunningEmulator> {
  let sink: (b: Buffer) => Promise<void> = async () => {}
  const out = new Pacer(
    opts.baud,
    (b) => sink(b),
    () => opts.clock.monotonic(),
  )
  const module = new EmulatedModule({
    profile: opts.profile,
    dialect: opts.dialect,
    clock: opts.clock,
    rtcAtBoot: opts.rtcAtBoot,
    wifi: opts.wifi,
    net: {
      resolveMap: opts.resolveMap,
      dnsOff: opts.dnsOff,
      clock: opts.clock,
      timeoutMs: opts.requestTimeoutMs,
      cache: new CertCache(),
    },
    faults: opts.faults,
    seed: opts.seed,
    output: (b) => out.push(b),
    log: opts.log,
    error: opts.error,
  })
  const input = new Pacer(
    opts.baud,
    (b) => module.receive(b),
    () => opts.clock.monotonic(),
  )

  if (opts.listen.kind === 'pty') {
    const { master, slave, path: pty } = openPtyPair()
    // Raw mode on the slave before anyone opens it: no echo, no CR/LF translation, no line
    // buffering, so early output (the boot banner) is not mangled. Reading stays manual.
    const slaveStream = new tty.ReadStream(slave)
    slaveStream.setRawMode(true)
    const masterStream = new tty.ReadStream(master)
    // The client's speed is looked at whenever it sends (it sets the speed when it opens the port,
    // before its first byte); until it has sent anything its output is not garbled (the boot banner).
    const speed = ptyLineSpeed(master, opts.error)
    let mismatched = false
    let looked: Promise<void> = Promise.resolve()
    masterStream.on('data', (d: Buffer) => {
      if (!speed) return input.push(d)
      // In order: each chunk waits for the previous one's look at the speed.
      looked = looked.then(async () => {
        const client = await speed.read()
        const was = mismatched
        mismatched = client !== null && speedsMismatch(opts.baud, client)
        if (mismatched !== was)
          opts.log(
            mismatched
              ? `client at ${client} baud, line at ${opts.baud}: bytes garbled both ways`
              : `client back at ${opts.baud} baud`,
          )
        input.push(mismatched ? garble(d) : d)
      })
    })
    masterStream.on('error', () => {})
    sink = (b) => writeAll(master, mismatched ? garble(b) : b)
    module.boot()
    return {
      url: pty,
      stats: () => ({ bytesIn: input.bytes, bytesOut: out.bytes, ...module.stats }),
      // Nothing to wait for; the executor keeps a throw a rejection, as when this was async.
      close: () =>
        new Promise<void>((resolve) => {
          out.clear()
          // Its connections close with it: a request in flight must not keep the process up until it times out.
          module.powerOff()
          masterStream.destroy()
          slaveStream.destroy()
          resolve()
        }),
    }
  }

  let client: Socket | null = null
  const notice = opts.notice ?? opts.log
  const peer = (s: Socket) => `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`
  const server = createServer((socket) => {
    // One module, one serial line: while a client holds it, another is closed at once, before a
    // byte of it reaches the module, so that nobody takes the line over from a run mid-way. A
    // client that has hung up (its end read) no longer holds it, even before its socket is gone.
    if (client && !client.destroyed && !client.readableEnded) {
      notice(`refused a second client (${peer(socket)}): the line is held by ${peer(client)}`)
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    client?.destroy()
    client = socket
    socket.setNoDelay(true)
    socket.on('data', (d) => input.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      if (client === socket) client = null
    })
  })
  sink = (b) => {
    client?.write(b)
    return Promise.resolve()
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(
      opts.listen.kind === 'tcp' ? opts.listen.port : 0,
      opts.listen.kind === 'tcp' ? opts.listen.host : '127.0.0.1',
      resolve,
    )
  })
  module.boot()
  const addr = server.address() as { address: string; port: number }
  return {
    url: `tcp://${addr.address}:${addr.port}`,
    stats: () => ({ bytesIn: input.bytes, bytesOut: out.bytes, ...module.stats }),
    close: async () => {
      out.clear()
      module.powerOff()
      client?.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** Writes to the pty master, waiting while the kernel buffer is full (nobody reading yet). */
async function writeAll(fd: number, data: Buffer): Promise<void> {
  let off = 0
  while (off < data.length) {
    const n = await new Promise<number>((resolve) =>
      fsWrite(fd, data, off, data.length - off, null, (err, written) => {
        if (err && err.code !== 'EAGAIN')
          resolve(data.length - off) // port gone: drop, like a line with no listener
        else resolve(err ? 0 : written)
      }),
    )
    off += n
    if (n === 0) await new Promise((r) => setTimeout(r, 10))
  }
}
