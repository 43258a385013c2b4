/** One chunk on the wire: `tx` to the module, `rx` from it, milliseconds since the channel opened. */
export interface TranscriptEntry {
  dir: 'tx' | 'rx' | 'note'
  t: number
  /** Bytes as Latin-1 text (every byte value kept; JSON escapes the control characters). */
  data: string
}

/** Keeps the full exchange up to a cap, then notes how much was left out. */
export class Transcript {
  readonly entries: TranscriptEntry[] = []
  private bytes = 0
  private omitted = 0

  constructor(
    private readonly now: () => number,
    private readonly maxBytes = 512 * 1024,
  ) {}

  add(dir: TranscriptEntry['dir'], data: Buffer | string): void {
    const text = typeof data === 'string' ? data : data.toString('latin1')
    if (this.bytes + text.length > this.maxBytes) {
      this.omitted += text.length
      return
    }
    this.bytes += text.length
    this.entries.push({ dir, t: Math.round(this.now() * 10) / 10, data: text })
  }

  /** Entries from `index` on, with a note if anything was left out. */
  since(index: number): TranscriptEntry[] {
    const out = this.entries.slice(index)
    if (this.omitted > 0)
      out.push({
        dir: 'note',
        t: Math.round(this.now()),
        data: `${this.omitted} bytes left out of the transcript (cap ${this.maxBytes})`,
      })
    return out
  }

  get length(): number {
    return this.entries.length
  }
}
