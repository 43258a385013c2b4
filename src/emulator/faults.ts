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

// The grammar of `--faults` (and of an `emu:` URL's faults=) is the device layer's, which checks a
// URL before any work; the emulator reads the same grammar.
export { FAULT_KINDS, FIXED_ONLY_FAULTS, NO_FAULTS, parseFaults } from '../device/transport/emu-faults.js'
export type { FaultKind, FaultPlan } from '../device/transport/emu-faults.js'
import { FAULT_KINDS, type FaultKind, type FaultPlan } from '../device/transport/emu-faults.js'

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
