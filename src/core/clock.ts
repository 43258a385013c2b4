/** The clock is passed in, so tests and the emulator can fix "now". */
export interface Clock {
  now(): Date
  /** Monotonic milliseconds, for durations. */
  monotonic(): number
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
}
