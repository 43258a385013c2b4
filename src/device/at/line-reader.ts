export type ReaderEvent =
  | { type: 'line'; text: string; overflow?: boolean }
  | { type: 'body'; bytes: Buffer }
  | { type: 'raw'; bytes: Buffer; inline?: boolean }
  /** The module's input prompt (`>`), awaited after expectPrompt. */
  | { type: 'prompt' }

/**
 * A dialect whose data rides on the line that announces it (ESP-AT `+IPD,<n>:<data>`, no CR LF
 * after the data): given the start of a line, the announcement, 'more' while it may still become
 * one, or null.
 */
export type InlineData = (head: string) => { consumed: number; header: string; length: number } | 'more' | null

/** A line longer than this is cut and flagged: a device printing garbage must not grow memory. */
export const MAX_LINE = 8192

type Mode =
  | { kind: 'lines' }
  | { kind: 'raw'; remaining: number; started: boolean; inline?: boolean }
  | { kind: 'body'; end: (line: string) => boolean; wind: (line: string) => boolean }

/**
 * Incremental reader for the module's output: CR LF terminated lines, a raw block of known
 * length (socket reads), or an HTTP body that runs until a terminator line. Bytes may arrive
 * split anywhere; the handler may switch mode while handling an event and the switch applies to
 * the very next byte. Latin-1 keeps every byte value.
 */
export class LineReader {
  private buf: Buffer = Buffer.alloc(0)
  private mode: Mode = { kind: 'lines' }
  private discarding = false
  private promptWanted = false

  constructor(
    private readonly onEvent: (e: ReaderEvent) => void,
    private readonly inline: () => InlineData | undefined = () => undefined,
  ) {}

  /** The next `>` at the start of a line is the module's input prompt, not the start of a line. */
  expectPrompt(): void {
    this.promptWanted = true
  }

  expectRaw(n: number): void {
    this.mode = n > 0 ? { kind: 'raw', remaining: n, started: false } : { kind: 'lines' }
  }

  /** Body bytes until a line for which `end` is true; lines for which `wind` is true are events. */
  expectBody(end: (line: string) => boolean, wind: (line: string) => boolean): void {
    this.mode = { kind: 'body', end, wind }
  }

  reset(): void {
    this.mode = { kind: 'lines' }
    this.buf = Buffer.alloc(0)
    this.discarding = false
    this.promptWanted = false
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    for (;;) {
      const progressed =
        this.mode.kind === 'raw'
          ? this.stepRaw(this.mode)
          : this.mode.kind === 'body'
            ? this.stepBody(this.mode)
            : this.stepLine()
      if (!progressed) return
    }
  }

  private stepRaw(mode: { remaining: number; started: boolean; inline?: boolean }): boolean {
    if (this.buf.length === 0) return false
    if (!mode.started) {
      // An indication can slip in between a read command and its data (it was on the wire
      // before the module saw the command): take whole +WIND lines first, then the data.
      const head = this.buf.subarray(0, 6).toString('latin1')
      if ('+WIND:'.startsWith(head) && head.length < 6) return false
      if (head === '+WIND:') {
        const nl = this.buf.indexOf(0x0a)
        if (nl < 0) return false
        const text = this.buf.subarray(0, nl).toString('latin1').replace(/\r+$/, '')
        this.buf = this.buf.subarray(nl + 1)
        this.onEvent({ type: 'line', text })
        return true
      }
      // Leading CR LF pairs frame the data on SPWF01 (its replies start with CR LF).
      mode.started = true
    }
    const take = Math.min(mode.remaining, this.buf.length)
    const bytes = this.buf.subarray(0, take)
    this.buf = this.buf.subarray(take)
    mode.remaining -= take
    if (mode.remaining === 0) this.mode = { kind: 'lines' }
    this.onEvent(mode.inline ? { type: 'raw', bytes, inline: true } : { type: 'raw', bytes })
    return true
  }

  private stepLine(): boolean {
    const first = this.buf[0]
    if (first !== undefined && first !== 0x0d && first !== 0x0a && !this.discarding) {
      if (this.promptWanted && first === 0x3e) {
        this.promptWanted = false
        this.buf = this.buf.subarray(1)
        this.onEvent({ type: 'prompt' })
        return true
      }
      const inline = this.inline()
      if (inline) {
        const found = inline(this.buf.subarray(0, 64).toString('latin1'))
        if (found === 'more') return false
        if (found) {
          this.buf = this.buf.subarray(found.consumed)
          if (found.length > 0) this.mode = { kind: 'raw', remaining: found.length, started: true, inline: true }
          this.onEvent({ type: 'line', text: found.header })
          return true
        }
      }
    }
    const nl = this.buf.indexOf(0x0a)
    if (nl < 0) {
      if (this.buf.length > MAX_LINE) {
        if (!this.discarding)
          this.onEvent({ type: 'line', text: this.buf.subarray(0, MAX_LINE).toString('latin1'), overflow: true })
        this.discarding = true
        this.buf = Buffer.alloc(0)
      }
      return false
    }
    const raw = this.buf.subarray(0, nl)
    this.buf = this.buf.subarray(nl + 1)
    if (this.discarding) {
      this.discarding = false
      return true
    }
    const text = raw.toString('latin1').replace(/\r+$/, '').replace(/^\r+/, '')
    if (text.length > MAX_LINE) this.onEvent({ type: 'line', text: text.slice(0, MAX_LINE), overflow: true })
    else if (text.length > 0) this.onEvent({ type: 'line', text })
    return true
  }

  private stepBody(mode: { end: (l: string) => boolean; wind: (l: string) => boolean }): boolean {
    if (this.buf.length === 0) return false
    const nl = this.buf.indexOf(0x0a)
    if (nl < 0) {
      // A partial line that cannot become a terminator or an indication is body already.
      const head = this.buf.subarray(0, 6).toString('latin1')
      if (
        !'AT-S.'.startsWith(head.slice(0, 5)) &&
        !'+WIND:'.startsWith(head) &&
        !'OK'.startsWith(head.slice(0, 2)) &&
        !'ERROR'.startsWith(head.slice(0, 5))
      ) {
        const bytes = this.buf
        this.buf = Buffer.alloc(0)
        this.onEvent({ type: 'body', bytes })
      } else if (this.buf.length > MAX_LINE) {
        const bytes = this.buf
        this.buf = Buffer.alloc(0)
        this.onEvent({ type: 'body', bytes })
      }
      return false
    }
    const lineBytes = this.buf.subarray(0, nl + 1)
    const text = lineBytes.toString('latin1').replace(/[\r\n]+$/, '')
    this.buf = this.buf.subarray(nl + 1)
    if (mode.end(text)) {
      this.mode = { kind: 'lines' }
      this.onEvent({ type: 'line', text })
    } else if (mode.wind(text)) {
      this.onEvent({ type: 'line', text })
    } else {
      this.onEvent({ type: 'body', bytes: lineBytes })
    }
    return true
  }
}
