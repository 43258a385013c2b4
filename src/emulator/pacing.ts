/**
 * Moves bytes no faster than a serial line would: 8N1 costs 10 bit times per byte, so 115200
 * baud is 11,520 bytes/s. Order is kept; `deliver` is called with slices as time allows.
 */
export class Pacer {
  private queue: Buffer[] = []
  private busy = false
  private nextAt = 0
  private readonly bytesPerMs: number
  /** Bytes moved so far. */
  bytes = 0

  constructor(
    baud: number,
    private readonly deliver: (b: Buffer) => void | Promise<void>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bytesPerMs = baud / 10 / 1000
  }

  push(b: Buffer): void {
    if (b.length === 0) return
    this.queue.push(b)
    if (!this.busy) void this.pump()
  }

  clear(): void {
    this.queue = []
  }

  private async pump(): Promise<void> {
    this.busy = true
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!
        // Slices of ~4 ms of line time keep timer overhead low and latency realistic.
        const size = Math.max(1, Math.min(head.length, Math.ceil(this.bytesPerMs * 4)))
        const slice = head.subarray(0, size)
        if (size === head.length) this.queue.shift()
        else this.queue[0] = head.subarray(size)
        const t = this.now()
        this.nextAt = Math.max(this.nextAt, t) + size / this.bytesPerMs
        this.bytes += slice.length
        await this.deliver(slice)
        const wait = this.nextAt - this.now()
        if (wait > 1) await new Promise((r) => setTimeout(r, wait))
      }
    } finally {
      this.busy = false
    }
  }
}
