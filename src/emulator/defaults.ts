/**
 * `tlsmatrix emulate`'s defaults, the same for an emulator started in this process. Constants
 * only: the CLI reads them when it defines its options, without loading any emulator code.
 */
export const EMULATOR_DEFAULTS = {
  baud: 115_200,
  seed: 1,
  requestTimeoutMs: 15_000,
  /** The module's RTC after power-on, when --clock is not given (a profile note documents it). */
  clock: '2000-01-01T00:00:00Z',
} as const
