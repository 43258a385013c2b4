/** One chunk on the wire: `tx` to the module, `rx` from it, milliseconds since the channel opened. */
export interface TranscriptEntry {
  dir: 'tx' | 'rx' | 'note'
  t: number
  /** Bytes as Latin-1 text (every byte value kept; JSON escapes the control characters). */
  data: string
}

/**
 * Keeps the exchange of one request up to a cap, then notes how much was left out. The cap is per
 * request, not per channel: a long run whose early pages were large still records every later
 * request's bytes. `begin()` starts a request's record and lets go of what came before, so memory
 * stays bounded over a run of any length; marks are absolute indexes (`length`), valid across it.
 */
export class Transcript {
  private kept: TranscriptEntry[] = []
  /** Absolute index of kept[0]. */
  private base = 0
  private bytes = 0
  private omitted: { note: TranscriptEntry; bytes: number } | null = null

  constructor(
    private readonly now: () => number,
    private readonly maxBytes = 512 * 1024,
  ) {}

  /** The entries since the last begin() (tests and diagnostics). */
  get entries(): readonly TranscriptEntry[] {
    return this.kept
  }

  add(dir: TranscriptEntry['dir'], data: Buffer | string): void {
    const text = typeof data === 'string' ? data : data.toString('latin1')
    // Past the cap the record is cut (a prefix and a note), never left with a gap.
    if (this.omitted || this.bytes + text.length > this.maxBytes) {
      if (!this.omitted) {
        this.omitted = { note: { dir: 'note', t: this.stamp(), data: '' }, bytes: 0 }
        this.kept.push(this.omitted.note)
      }
      this.omitted.bytes += text.length
      this.omitted.note.data = `${this.omitted.bytes} bytes left out of the transcript (cap ${this.maxBytes} per request)`
      return
    }
    this.bytes += text.length
    this.kept.push({ dir, t: this.stamp(), data: text })
  }

  /**
   * A request starts: its bytes get the whole cap, and the entries before it are let go. Returns
   * its mark, for since().
   */
  begin(): number {
    this.base += this.kept.length
    this.kept = []
    this.bytes = 0
    this.omitted = null
    return this.base
  }

  /** Entries from the mark `index` on (copies: a note still counting is not changed under a caller). */
  since(index: number): TranscriptEntry[] {
    return this.kept.slice(Math.max(0, index - this.base)).map((e) => ({ ...e }))
  }

  /** The mark of the next entry. */
  get length(): number {
    return this.base + this.kept.length
  }

  private stamp(): number {
    return Math.round(this.now() * 10) / 10
  }
}
