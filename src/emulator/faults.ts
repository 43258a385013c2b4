/** Seeded PRNG (mulberry32): the same --seed gives the same faults in the same places. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

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

/**
 * The bare `AT` is how a host syncs and polls after a reset: how many of them it sends depends on
 * timing (a slow machine polls more), so it is never faulted and never counted. Everything else
 * counts, so the fault schedule depends only on the commands, never on the clock.
 */
export function isPoll(cmd: string | null): boolean {
  return cmd === 'AT'
}

/** One command's fault and the random numbers its fault uses (where bytes are cut or corrupted). */
export interface FaultRoll {
  kind: FaultKind | null
  random: () => number
}

/**
 * The fault for counted command `index`, from (seed, index) alone: each command has its own
 * deterministic generator, so neither polls nor what an earlier fault consumed shift the schedule.
 */
export function rollFault(plan: FaultPlan, seed: number, index: number): FaultRoll {
  const random = seededRandom(mix(seed, index))
  const fixed = plan.at.get(index)
  if (fixed) return { kind: fixed, random }
  if (index < plan.spareFirst) return { kind: null, random }
  for (const kind of FAULT_KINDS) {
    // One draw per kind, always taken, so a kind's decision does not depend on the other rates.
    const draw = random()
    const rate = plan.rates[kind] ?? 0
    if (rate > 0 && draw < rate) return { kind, random }
  }
  return { kind: null, random }
}

/** A 32-bit hash of (seed, index) (murmur3 finaliser), so neighbouring indices get unrelated streams. */
function mix(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
