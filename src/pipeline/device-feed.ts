import type { Target } from '../hosts/index.js'
import {
  planDevice,
  type AnchorChoice,
  type DevicePlan,
  type PlanItem,
  type PlanModule,
  type TargetObservations,
} from '../plan/index.js'

type Group = DevicePlan['groups'][number]

/**
 * One device's work while the survey is still resolving: each target is planned as soon as its
 * observations are in, and handed to the device worker without waiting for the rest. The worker
 * should still upload each anchor once, so until resolution ends only the first anchor met is
 * handed out (the module keeps it loaded); the other anchors' items wait for the complete plan,
 * which then supplies everything not yet handed out. The complete plan itself is the one stored
 * for --resume: this only changes when work starts, not what the work is.
 */
export class DeviceFeed implements AsyncIterable<DevicePlan> {
  private current: string | null = null
  private readonly handed = new Set<string>()
  private readonly queue: DevicePlan[] = []
  private closed = false
  /** True once finish() handed out the complete plan: the feed ended because the work is all known, not because the run stopped. */
  complete = false
  private wake: (() => void) | null = null

  constructor(
    private readonly device: string,
    private readonly module: PlanModule,
    private readonly choice: AnchorChoice,
  ) {}

  /** A target whose observations (the device's hello and the broad one) are all in. */
  ready(target: Target, obs: TargetObservations): void {
    if (this.closed) return
    const one = planDevice(this.device, this.module, [target], new Map([[target.id, obs]]), this.choice)
    const groups: Group[] = []
    for (const g of one.groups) {
      this.current ??= g.anchor.sha256
      if (g.anchor.sha256 === this.current) groups.push(g)
    }
    // A must-reject target without a candidate of its own borrows the anchor the whole plan uses
    // most, which only the complete plan knows: it waits for finish().
    const skipped = target.expect === 'fail' ? one.skipped.filter((i) => i.skip?.reason !== 'no-anchor') : one.skipped
    this.emit({ device: this.device, skipped, groups })
  }

  /** Resolution is over: whatever the complete plan holds that was not handed out, then the end. */
  finish(plan: DevicePlan): void {
    if (this.closed) return
    const skipped = plan.skipped.filter((i) => !this.handed.has(keyOf(i)))
    const rest = plan.groups
      .map((g) => ({ anchor: g.anchor, items: g.items.filter((i) => !this.handed.has(keyOf(i))) }))
      .filter((g) => g.items.length > 0)
    // The loaded anchor first: no second upload of it.
    rest.sort((a, b) => Number(b.anchor.sha256 === this.current) - Number(a.anchor.sha256 === this.current))
    this.emit({ device: this.device, skipped, groups: rest })
    this.complete = true
    this.close()
  }

  /** The complete plan is known and all of it handed to the worker: its total is final. */
  get settled(): boolean {
    return this.complete && this.queue.length === 0
  }

  /** No more work (the run is stopping, or it failed). */
  close(): void {
    this.closed = true
    this.wake?.()
  }

  [Symbol.asyncIterator](): AsyncIterator<DevicePlan> {
    // No return(): a worker leaving its loop (a lost device) may come back to drain the rest.
    return { next: async () => await this.next() }
  }

  private emit(chunk: DevicePlan): void {
    for (const i of chunk.skipped) this.handed.add(keyOf(i))
    for (const g of chunk.groups) for (const i of g.items) this.handed.add(keyOf(i))
    if (chunk.skipped.length === 0 && chunk.groups.length === 0) return
    this.queue.push(chunk)
    this.wake?.()
  }

  private async next(): Promise<IteratorResult<DevicePlan>> {
    while (this.queue.length === 0 && !this.closed)
      await new Promise<void>((r) => {
        this.wake = r
      })
    this.wake = null
    if (this.queue.length === 0) return { done: true, value: undefined }
    // Everything queued at once, groups of one anchor merged, in arrival order.
    const merged: DevicePlan = { device: this.device, skipped: [], groups: [] }
    for (const c of this.queue.splice(0)) {
      merged.skipped.push(...c.skipped)
      for (const g of c.groups) {
        const same = merged.groups.find((m) => m.anchor.sha256 === g.anchor.sha256)
        if (same) same.items.push(...g.items)
        else merged.groups.push({ anchor: g.anchor, items: [...g.items] })
      }
    }
    return { done: false, value: merged }
  }
}

function keyOf(i: PlanItem): string {
  return `${i.target}\n${i.anchor?.sha256 ?? '-'}`
}
