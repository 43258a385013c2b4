/**
 * The faults an emulator started for an `emu:` URL injects (`faults=` in the URL, `--faults` of
 * `tlsmatrix emulate`): a grammar both sides read, so a bad one is a usage error before any work.
 */
export const FAULT_KINDS = ['drop', 'corrupt', 'stall', 'reboot', 'wind'] as const
/** Only at fixed command numbers: the emulator fails internally, to test that its errors reach the evidence. */
export const FIXED_ONLY_FAULTS = ['internal'] as const
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof FIXED_ONLY_FAULTS)[number]

/** Per-command probabilities of each fault, and how long a stall lasts. */
export interface FaultPlan {
  rates: Partial<Record<FaultKind, number>>
  /** Faults at fixed command numbers (0-based, counting the commands the module ran except bare `AT`). */
  at: Map<number, FaultKind>
  stallMs: number
  /** Counted commands never faulted (identification, so a run can start). */
  spareFirst: number
}

export const NO_FAULTS: FaultPlan = { rates: {}, at: new Map(), stallMs: 0, spareFirst: 0 }

/**
 * `--faults drop=0.05,corrupt=0.05,stall=0.02,reboot=0.02,wind=0.2,stallMs=5000` — each a
 * probability per command (stallMs in milliseconds); `stall@7` puts a fault on command 7.
 */
export function parseFaults(spec: string): FaultPlan {
  const plan: FaultPlan = { rates: {}, at: new Map(), stallMs: 5000, spareFirst: 2 }
  if (!spec) return plan
  for (const part of spec.split(',')) {
    const fixed = /^([a-z]+)@(\d+)$/.exec(part)
    if (fixed) {
      if (![...FAULT_KINDS, ...FIXED_ONLY_FAULTS].includes(fixed[1]! as FaultKind))
        throw new Error(`--faults: unknown fault "${fixed[1]}" (${[...FAULT_KINDS, ...FIXED_ONLY_FAULTS].join(', ')})`)
      plan.at.set(Number(fixed[2]), fixed[1] as FaultKind)
      continue
    }
    const [key = '', value = ''] = part.split('=')
    const n = Number(value)
    if (key === 'stallMs') {
      if (!Number.isInteger(n) || n < 0 || n > 600_000) throw new Error(`--faults: stallMs must be 0-600000`)
      plan.stallMs = n
    } else if ((FAULT_KINDS as readonly string[]).includes(key)) {
      if (!(n >= 0 && n <= 1)) throw new Error(`--faults: ${key} must be a probability 0-1, not "${value}"`)
      plan.rates[key as (typeof FAULT_KINDS)[number]] = n
    } else throw new Error(`--faults: unknown fault "${key}" (${FAULT_KINDS.join(', ')}, stallMs)`)
  }
  return plan
}
