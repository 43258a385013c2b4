import { DeviceError } from '../errors.js'
import type { Transport } from '../transport/transport.js'
import { LineReader, type InlineData, type ReaderEvent } from './line-reader.js'
import { Transcript } from './transcript.js'

/** How a dialect ends a response and marks indications. */
export interface Framing {
  isOk(line: string): boolean
  isError(line: string): boolean
  /** An unsolicited indication (a URC: SPWF's `+WIND:`, ESP-AT's `WIFI CONNECTED`…), at any point. */
  isWind(line: string): boolean
  /** What ends a command line; CR when absent (the SPWF dialects). */
  commandEnd?: string
  /** An indication that the module restarted: no command in flight will finish. */
  isReboot(line: string): boolean
  /** Data announced inline, read by length (ESP-AT `+IPD,<n>:`); its bytes go to onInlineData. */
  inlineData?: InlineData
}

export interface ExecOptions {
  timeoutMs: number
  /** Raw bytes sent right after the command's CR (TLSCERT, SOCKW). */
  payload?: Buffer
  /** After a line for which this returns true, bytes are an HTTP body until the final line. */
  bodyAfter?: (line: string) => boolean
  /** After a line for which this returns n > 0, exactly n raw bytes follow (socket reads). */
  rawAfter?: (line: string) => number
  /**
   * Send `payload` only after the module's `>` prompt (ESP-AT); an OK before the prompt is part of
   * it, an error before it ends the command with nothing sent.
   */
  prompt?: boolean
  /** Right after the command line, exactly this many raw bytes follow. */
  rawFirst?: number
  /**
   * The time-out counts from the last byte received, not from the command: a module still
   * printing an earlier answer (an HTTP body at the line's speed) is not cut off. `timeoutMs`
   * then bounds the whole wait.
   */
  quietMs?: number
  /** The command restarts the module (AT+S.RESET): boot indications do not fail it. */
  expectReboot?: boolean
  /**
   * Whether a complete response is this command's. An answer to an earlier command that timed
   * out arrives late, ahead of this one's: when this returns false the response is set aside
   * (noted in the transcript) and the channel keeps waiting for the next one.
   */
  accept?: (r: { ok: boolean; lines: readonly string[]; final: string }) => boolean
}

export interface AtResponse {
  command: string
  ok: boolean
  /** Informational lines, in order, without the final line. */
  lines: string[]
  final: string
  body: Buffer | null
  /** Body bytes received, including any beyond the stored cap. */
  bodyBytes: number
  winds: string[]
  durationMs: number
  /** Lines of the complete responses `accept` set aside while waiting for this one, in order (capped). */
  setAside: string[]
}

/** Bodies are kept up to this size; the rest is counted. */
const MAX_BODY = 256 * 1024
/**
 * Lines kept per response (and per list of lines set aside): a module printing garbage, or an
 * HTTP body of lines while no body is expected, must not grow memory. A response cut here ends
 * with a marker line no grammar takes, so it is never judged as complete.
 */
export const MAX_RESPONSE_LINES = 512

interface Pending {
  command: string
  opts: ExecOptions
  lines: string[]
  winds: string[]
  aside: string[]
  /** Lines left out of `lines`, `winds` and `aside` by the cap. */
  dropped: number
  body: Buffer[]
  bodySize: number
  bodyBytes: number
  started: number
  awaitingPrompt: boolean
  resolve(r: AtResponse): void
  reject(e: Error): void
  timer: NodeJS.Timeout
  /** With quietMs: restarts the time-out, as bytes arrive. */
  heard?: () => void
}

/** Appends up to the cap; returns false when the line was left out. */
function keep(list: string[], line: string): boolean {
  if (list.length >= MAX_RESPONSE_LINES) return false
  list.push(line)
  return true
}

/**
 * The AT command channel shared by both dialects: one command in flight, per-command timeouts,
 * raw payloads, body capture, +WIND indications as events at any point, echo tolerated, and a
 * transcript of every byte both ways.
 */
export class AtChannel {
  readonly transcript: Transcript
  private readonly reader: LineReader
  private pending: Pending | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private windListeners: Array<(line: string) => void> = []
  private dataListeners: Array<(bytes: Buffer) => void> = []
  private stray: string[] = []
  private closed: Error | null = null
  private readonly t0: number

  constructor(
    private readonly transport: Transport,
    private framing: Framing,
    private readonly monotonic: () => number = () => performance.now(),
  ) {
    this.t0 = monotonic()
    this.transcript = new Transcript(() => this.monotonic() - this.t0)
    this.reader = new LineReader(
      (e) => this.onEvent(e),
      () => this.framing.inlineData,
    )
    transport.onData((chunk) => {
      this.transcript.add('rx', chunk)
      this.pending?.heard?.()
      this.reader.push(chunk)
    })
    transport.onNote?.((text) => this.note(text))
    transport.onClose((err) => {
      this.closed = err ?? new Error('closed')
      // Through finish, which clears the command's timer: a request abandoned by a stop must not
      // keep the process alive for its device time-out once the port is closed.
      if (this.pending)
        this.finish(
          this.pending,
          new DeviceError('AT_CLOSED', `${transport.describe} closed${err ? `: ${err.message}` : ''}`),
        )
    })
  }

  /** True once the port closed: a driver waiting on indications alone (no command in flight) stops. */
  get isClosed(): boolean {
    return this.closed !== null
  }

  setFraming(framing: Framing): void {
    this.framing = framing
  }

  /** Indications (+WIND) whenever they arrive, also in the middle of a response. */
  onWind(cb: (line: string) => void): () => void {
    this.windListeners.push(cb)
    return () => {
      this.windListeners = this.windListeners.filter((l) => l !== cb)
    }
  }

  /** Bytes announced inline (ESP-AT +IPD), whenever they arrive; the announcement is an indication. */
  onInlineData(cb: (bytes: Buffer) => void): () => void {
    this.dataListeners.push(cb)
    return () => {
      this.dataListeners = this.dataListeners.filter((l) => l !== cb)
    }
  }

  /** Lines that arrived with no command in flight and were not indications (garbage, late answers). */
  takeStray(): string[] {
    const s = this.stray
    this.stray = []
    return s
  }

  /** Sends one command (serialized after any in flight) and resolves with its response. */
  exec(command: string, opts: ExecOptions): Promise<AtResponse> {
    const run = this.queue.then(() => this.execNow(command, opts))
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Forget any half-read response, e.g. after a timeout or a reset. */
  resync(): void {
    this.reader.reset()
  }

  note(text: string): void {
    this.transcript.add('note', text)
  }

  private execNow(command: string, opts: ExecOptions): Promise<AtResponse> {
    if (this.closed) return Promise.reject(new DeviceError('AT_CLOSED', `${this.transport.describe} is closed`))
    if (/[\r\n\0]/.test(command))
      return Promise.reject(
        new DeviceError('AT_INVALID_FIELD', 'command contains CR, LF or NUL; refused, nothing sent'),
      )
    return new Promise<AtResponse>((resolve, reject) => {
      const expire = () => {
        if (this.pending !== p) return
        this.pending = null
        this.reader.reset()
        const quiet = opts.quietMs !== undefined && this.monotonic() - p.started < opts.timeoutMs
        reject(
          new DeviceError(
            'AT_TIMEOUT',
            `no final answer to ${command} within ${quiet ? `${opts.quietMs} ms of silence` : `${opts.timeoutMs} ms`}${p.lines.length ? ` (got ${p.lines.length} lines: ${p.lines.slice(-3).join(' | ')})` : ''}`,
            { lines: p.lines },
          ),
        )
      }
      const started = this.monotonic()
      const first = opts.quietMs === undefined ? opts.timeoutMs : Math.min(opts.quietMs, opts.timeoutMs)
      const p: Pending = {
        command,
        opts,
        lines: [],
        winds: [],
        aside: [],
        dropped: 0,
        body: [],
        bodySize: 0,
        bodyBytes: 0,
        started,
        awaitingPrompt: opts.prompt === true,
        resolve,
        reject,
        timer: setTimeout(expire, first),
      }
      if (opts.quietMs !== undefined) {
        const quietMs = opts.quietMs
        p.heard = () => {
          clearTimeout(p.timer)
          const left = opts.timeoutMs - (this.monotonic() - started)
          p.timer = setTimeout(expire, Math.max(0, Math.min(quietMs, left)))
        }
      }
      this.pending = p
      if (opts.rawFirst) this.reader.expectRaw(opts.rawFirst)
      if (opts.prompt) this.reader.expectPrompt()
      const line = Buffer.from(`${command}${this.framing.commandEnd ?? '\r'}`, 'latin1')
      this.send(p, opts.prompt ? line : Buffer.concat([line, opts.payload ?? Buffer.alloc(0)]))
    })
  }

  private send(p: Pending, bytes: Buffer): void {
    this.transcript.add('tx', bytes)
    this.transport
      .write(bytes)
      .catch((err: Error) =>
        this.finish(p, new DeviceError('AT_CLOSED', `write to ${this.transport.describe} failed: ${err.message}`)),
      )
  }

  private finish(p: Pending, result: AtResponse | Error): void {
    if (this.pending !== p) return
    this.pending = null
    clearTimeout(p.timer)
    if (result instanceof Error) p.reject(result)
    else p.resolve(result)
  }

  private onEvent(e: ReaderEvent): void {
    const p = this.pending
    if (e.type === 'prompt') {
      if (p?.awaitingPrompt) {
        p.awaitingPrompt = false
        this.send(p, p.opts.payload ?? Buffer.alloc(0))
      }
      return
    }
    if (e.type === 'raw' && e.inline) {
      for (const l of this.dataListeners) l(e.bytes)
      return
    }
    if (e.type !== 'line') {
      if (!p) return
      p.bodyBytes += e.bytes.length
      if (p.bodySize < MAX_BODY) {
        const keep = e.bytes.subarray(0, MAX_BODY - p.bodySize)
        p.body.push(Buffer.from(keep))
        p.bodySize += keep.length
      }
      return
    }
    const line = e.text
    if (this.framing.isWind(line)) {
      if (p && !keep(p.winds, line)) p.dropped++
      for (const l of this.windListeners) l(line)
      if (p && this.framing.isReboot(line) && !p.opts.expectReboot) {
        this.reader.reset()
        this.finish(
          p,
          new DeviceError('AT_REBOOTED', `the module restarted (${line}) while running ${p.command}`, {
            lines: p.lines,
          }),
        )
      }
      return
    }
    if (!p) {
      keep(this.stray, line)
      return
    }
    if (line === p.command) return // echo
    if (p.awaitingPrompt && this.framing.isOk(line)) return // the OK that comes with the prompt
    if (this.framing.isOk(line) || this.framing.isError(line)) {
      if (p.opts.accept && !p.opts.accept({ ok: this.framing.isOk(line), lines: p.lines, final: line })) {
        this.transcript.add(
          'note',
          `a late answer set aside while waiting for ${p.command}: ${[...p.lines, line].join(' | ').slice(0, 200)}`,
        )
        for (const l of [...p.lines, line]) if (!keep(p.aside, l)) p.dropped++
        p.lines = []
        p.winds = []
        p.body = []
        p.bodySize = 0
        p.bodyBytes = 0
        return
      }
      const body = p.body.length || p.bodyBytes ? Buffer.concat(p.body) : null
      // A response cut by the cap is no complete response: the marker fits no grammar.
      const lines = p.lines.length >= MAX_RESPONSE_LINES ? [...p.lines, `…(${p.dropped} more lines)`] : p.lines
      this.finish(p, {
        command: p.command,
        ok: this.framing.isOk(line),
        lines,
        final: line,
        body,
        bodyBytes: p.bodyBytes,
        winds: p.winds,
        durationMs: Math.round(this.monotonic() - p.started),
        setAside: p.aside,
      })
      return
    }
    if (!keep(p.lines, e.overflow ? `${line}…(cut)` : line)) {
      p.dropped++
      return
    }
    const raw = p.opts.rawAfter?.(line) ?? 0
    if (raw > 0) this.reader.expectRaw(raw)
    else if (p.opts.bodyAfter?.(line))
      this.reader.expectBody(
        (l) => this.framing.isOk(l) || this.framing.isError(l),
        (l) => this.framing.isWind(l),
      )
  }
}
