import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Clock } from '../core/clock.js'
import type { FirmwareProfile } from '../profile/profile.js'
import { isPoll, rollFault, type FaultPlan } from './faults.js'
import type { NetOptions } from './https-client.js'
import { Response } from './response.js'
import type { FlashState, RamState } from './state.js'

/** Longest command line accepted; longer input is answered with an error, never buffered. */
const MAX_COMMAND_LINE = 1024

export interface ModuleContext {
  readonly profile: FirmwareProfile
  readonly flash: FlashState
  readonly ram: RamState
  readonly net: NetOptions
  readonly wifi: boolean
  /** The module's clock (set by TIME / SETTIME). */
  now(): Date
  setClock(date: Date): void
  /** Unsolicited output (indications) outside the current response. */
  indicate(line: string): void
  /** Unsolicited bytes as they are (ESP-AT `+IPD,<n>:<data>`), kept in order with indicate's. */
  indicateRaw?(bytes: Buffer): void
  /** Restart the module (RESET, CFUN): RAM state lost, boot banner printed. */
  reboot(): void
  log(msg: string): void
  /** Time the module spent on the network, for --stats. */
  stats: { requests: number; networkMs: number; handshakeMs: number }
}

/** One dialect's command set. */
export interface DialectHandler {
  banner(ctx: ModuleContext): string[]
  freshRam(): Omit<RamState, 'rtcMs' | 'rtcSetAt' | 'sockets'>
  /** Number of raw bytes that follow this command line, or 0. */
  payloadLength(cmd: string, profile: FirmwareProfile): number
  handle(cmd: string, payload: Buffer | null, out: Response, ctx: ModuleContext): Promise<void>
  /** The response to an over-long or unparseable line. */
  lineError(out: Response, ctx: ModuleContext): void
  /** What ends a command line: CR (absent; LF alone skipped) or LF after CR (ESP-AT's CR LF). */
  lineEnd?: 'cr' | 'crlf'
  /**
   * Instead of payloadLength, for a dialect that prompts: the payload length and the prompt the
   * module prints before it reads the payload (ESP-AT `\r\nOK\r\n\r\n>`), or null (no payload).
   */
  prompt?(cmd: string, ctx: ModuleContext): { length: number; prompt: Buffer } | null
  /** The answer to a line that arrives while a command runs; absent, the line waits its turn. */
  busy?(ctx: ModuleContext): Buffer
  /** Indications the `wind` fault slips into a response; absent, SPWF's +WIND lines. */
  spurious?: readonly string[]
}

export interface ModuleOptions {
  profile: FirmwareProfile
  dialect: DialectHandler
  clock: Clock
  /** Module RTC at power-on and after each reset. */
  rtcAtBoot: Date
  wifi: boolean
  net: NetOptions
  faults: FaultPlan
  /** Fault seed: with the command index, it alone decides each command's fault. */
  seed: number
  /** Bytes for the wire; the caller paces them at the baud rate. */
  output: (bytes: Buffer) => void
  /** Verbose trace (--log). */
  log: (msg: string) => void
  /** The emulator's own failures (a bug, never the module's behaviour): always reported, for the evidence. */
  error: (msg: string) => void
}

const SPURIOUS_WINDS = [
  '+WIND:16:Signal OK',
  '+WIND:15:Signal Low',
  '+WIND:84:NTP Server Delivery',
  '+WIND:14:BSS Regained',
]

/**
 * The module behind the serial line: assembles command lines and raw payloads from the bytes it
 * receives, runs one command at a time through its dialect, and answers, with seeded faults.
 */
export class EmulatedModule {
  readonly flash: FlashState = { ca: null, caSki: null, cert: null, key: null, auth: null, domain: null }
  private ram!: RamState
  private line: number[] = []
  private overflow = false
  private payload: { cmd: string; need: number; got: Buffer[]; size: number } | null = null
  private queue: Promise<void> = Promise.resolve()
  private commands = 0
  /** What the module did, for benchmarks (--stats): never sent on the wire. */
  readonly stats = { commands: 0, requests: 0, networkMs: 0, handshakeMs: 0 }
  private stalledUntil = 0
  private generation = 0
  /** Commands received and not yet answered: indications wait until the console is free. */
  private busy = 0
  private deferred: Buffer[] = []
  /** Connections open now, closed at power-off; off: none may open until the next boot. */
  private readonly connections = new Set<Socket | TLSSocket>()
  private off = false
  private readonly net: NetOptions

  constructor(private readonly opts: ModuleOptions) {
    this.net = {
      ...opts.net,
      track: (socket) => {
        if (this.off) return void socket.destroy()
        this.connections.add(socket)
        socket.once('close', () => this.connections.delete(socket))
      },
    }
  }

  boot(): void {
    this.off = false
    this.generation++
    this.deferred = []
    this.payload = null
    this.line = []
    for (const s of this.ram?.sockets.values() ?? []) s.socket?.destroy()
    this.ram = {
      ...this.opts.dialect.freshRam(),
      rtcMs: this.opts.rtcAtBoot.getTime(),
      rtcSetAt: this.opts.clock.monotonic(),
      sockets: new Map(),
    }
    for (const l of this.opts.dialect.banner(this.context())) this.opts.output(Buffer.from(`${l}\r\n`, 'latin1'))
  }

  /**
   * Power gone (an in-process emulator closed): its connections close and a command still
   * running answers nothing. Nothing is printed; only `boot` brings it back.
   */
  powerOff(): void {
    this.off = true
    this.generation++
    this.deferred = []
    this.payload = null
    this.line = []
    for (const s of this.ram?.sockets.values() ?? []) s.socket?.destroy()
    for (const c of this.connections) c.destroy()
  }

  /** Resolves once every command received so far has been answered (or faulted). */
  idle(): Promise<void> {
    return this.queue
  }

  receive(bytes: Buffer): void {
    if (this.opts.clock.monotonic() < this.stalledUntil) return
    for (let i = 0; i < bytes.length; i++) {
      if (this.payload) {
        const take = Math.min(this.payload.need - this.payload.size, bytes.length - i)
        this.payload.got.push(bytes.subarray(i, i + take))
        this.payload.size += take
        i += take - 1
        if (this.payload.size === this.payload.need) {
          const { cmd, got } = this.payload
          this.payload = null
          this.enqueue(cmd, Buffer.concat(got))
        }
        continue
      }
      const b = bytes[i]!
      const crlf = this.opts.dialect.lineEnd === 'crlf'
      if (crlf ? b === 0x0a : b === 0x0d) {
        if (crlf && this.line[this.line.length - 1] === 0x0d) this.line.pop()
        const cmd = Buffer.from(this.line).toString('latin1')
        const overflow = this.overflow
        this.line = []
        this.overflow = false
        if (this.ram.echo) this.opts.output(Buffer.from(`${cmd}\r\n`, 'latin1'))
        const dialect = this.opts.dialect
        if (dialect.busy && this.busy > 0 && (overflow || cmd.length > 0))
          this.opts.output(dialect.busy(this.context()))
        else if (overflow) this.enqueue(null, null)
        else if (cmd.length > 0) {
          const asked = dialect.prompt ? dialect.prompt(cmd, this.context()) : null
          const need = dialect.prompt ? (asked?.length ?? 0) : dialect.payloadLength(cmd, this.opts.profile)
          if (asked && need > 0) this.opts.output(asked.prompt)
          if (need > 0) this.payload = { cmd, need, got: [], size: 0 }
          else this.enqueue(cmd, null)
        }
      } else if (!crlf && b === 0x0a && this.line.length === 0) {
        continue
      } else if (this.line.length < MAX_COMMAND_LINE) {
        this.line.push(b)
      } else {
        this.overflow = true
      }
    }
  }

  private enqueue(cmd: string | null, payload: Buffer | null): void {
    this.busy++
    this.queue = this.queue
      .then(() => this.run(cmd, payload))
      .catch((err: Error) =>
        this.opts.error(`${cmd === null ? 'an over-long line' : cmd.slice(0, 40)}: ${err.message}`),
      )
      .finally(() => {
        this.busy--
        if (this.busy === 0) this.flushIndications()
      })
  }

  /** The console prints indications between responses, never inside one. */
  private indicate(line: string): void {
    this.indicateRaw(Buffer.from(`${line}\r\n`, 'latin1'))
  }

  private indicateRaw(b: Buffer): void {
    if (this.busy > 0) this.deferred.push(b)
    else this.opts.output(b)
  }

  private flushIndications(): void {
    const d = this.deferred
    this.deferred = []
    for (const b of d) this.opts.output(b)
  }

  private async run(cmd: string | null, payload: Buffer | null): Promise<void> {
    const generation = this.generation
    const out = new Response()
    const ctx = this.context()
    if (cmd === null) this.opts.dialect.lineError(out, ctx)
    else await this.opts.dialect.handle(cmd, payload, out, ctx)
    if (generation !== this.generation) return // rebooted meanwhile: the answer is lost
    this.stats.commands++
    if (isPoll(cmd)) {
      for (const c of out.chunks) this.opts.output(c)
      return
    }
    const { kind: fault, random: rnd } = rollFault(this.opts.faults, this.opts.seed, this.commands++)
    if (fault) this.opts.log(`fault ${fault} on ${cmd?.slice(0, 40)}`)
    switch (fault) {
      case 'internal':
        throw new Error('internal error injected by --faults')
      case 'drop':
        return
      case 'stall':
        this.stalledUntil = this.opts.clock.monotonic() + this.opts.faults.stallMs
        return
      case 'reboot': {
        const keep = Math.floor(rnd() * out.chunks.length)
        for (const c of out.chunks.slice(0, keep)) this.opts.output(c)
        this.boot()
        return
      }
      case 'corrupt': {
        const all = Buffer.concat(out.chunks)
        for (let n = 0; n < 3 && all.length > 0; n++)
          all[Math.floor(rnd() * all.length)] = 0x80 + Math.floor(rnd() * 0x7f)
        this.opts.output(all)
        return
      }
      case 'wind': {
        const at = Math.floor(rnd() * (out.chunks.length + 1))
        const spurious = this.opts.dialect.spurious ?? SPURIOUS_WINDS
        out.chunks.splice(at, 0, Buffer.from(`${spurious[Math.floor(rnd() * spurious.length)]}\r\n`))
        break
      }
    }
    for (const c of out.chunks) this.opts.output(c)
  }

  private context(): ModuleContext {
    const ram = () => this.ram
    return {
      profile: this.opts.profile,
      flash: this.flash,
      get ram() {
        return ram()
      },
      net: this.net,
      wifi: this.opts.wifi,
      now: () => new Date(this.ram.rtcMs + (this.opts.clock.monotonic() - this.ram.rtcSetAt)),
      setClock: (d: Date) => {
        this.ram.rtcMs = d.getTime()
        this.ram.rtcSetAt = this.opts.clock.monotonic()
      },
      indicate: (line: string) => this.indicate(line),
      indicateRaw: (bytes: Buffer) => this.indicateRaw(bytes),
      reboot: () => setImmediate(() => this.boot()),
      log: this.opts.log,
      stats: this.stats,
    }
  }
}
