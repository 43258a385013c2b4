import { ModuleLost, ModuleStopped } from '../device/index.js'
import type { KeySpec } from '../lab/spec.js'
import { EC_KEYS, groupOf, type LearnKit } from './kit.js'
import { BudgetSpent } from './session.js'
import { learnAnchorMatch } from './stages/anchor.js'
import { learnBaseline } from './stages/baseline.js'
import {
  learnClock,
  learnExtraCertificate,
  learnHashes,
  learnHostname,
  learnNetworkErrors,
  learnSni,
  learnTimeout,
  learnUntrusted,
  learnValidity,
} from './stages/checks.js'
import { learnHello } from './stages/hello.js'
import {
  keyLimits,
  learnIntermediateKeys,
  learnLeafKeys,
  learnRootKeys,
  refusedKey,
  type KeyResults,
} from './stages/keys.js'
import { learnSuites, learnVersions } from './stages/protocol.js'
import { learnSizes, learnStoreSize } from './stages/sizes.js'

export interface LearnEnd {
  /** Why learning stopped before every stage ran: the budget, or null when all ran. */
  stoppedBy: 'budget' | null
  /** Stages not reached. */
  skipped: string[]
}

/** A server that never answers costs the module's whole time-out: tried only when this much budget is left. */
const TIMEOUT_PROBE_MS = 90_000

/**
 * The probes, most telling first and grouped by the CA they need: everything the baseline root
 * can show comes before the uploads (anchor matching, root keys, the store's size), so a small
 * budget still gives the hello, the trust checks and the error lines. Interruption and a lost
 * module propagate (ModuleStopped, ModuleLost); a spent budget ends the stages quietly.
 */
export async function learn(kit: LearnKit): Promise<LearnEnd> {
  const keys: KeyResults = new Map()
  let baselineOk = false
  let offered: Awaited<ReturnType<typeof learnHello>> = []
  let ecdsaSuite: string | null = null
  const accepted = (): KeySpec[] => EC_KEYS.filter((k) => keys.get('intermediate')?.get(k)?.ok)
  const groups = (): string[] => (kit.found.values.get('tls.groups')?.value as string[] | undefined) ?? []
  const trust = (fn: () => Promise<void>) => async () => {
    if (baselineOk) await fn()
  }
  const stages: Array<[string, () => Promise<void>]> = [
    [
      'hello',
      async () => {
        offered = await learnHello(kit)
      },
    ],
    [
      'baseline',
      async () => {
        baselineOk = await learnBaseline(kit)
      },
    ],
    ['untrusted', trust(() => learnUntrusted(kit))],
    ['network errors', trust(() => learnNetworkErrors(kit))],
    ['validity', trust(() => learnValidity(kit))],
    ['clock', trust(() => learnClock(kit))],
    ['host name', trust(() => learnHostname(kit))],
    ['sni', trust(() => learnSni(kit))],
    ['intermediate keys', trust(() => learnIntermediateKeys(kit, keys))],
    ['signature hashes', trust(() => learnHashes(kit))],
    ['anchor matching', trust(() => learnAnchorMatch(kit))],
    ['versions', trust(() => learnVersions(kit, offered))],
    [
      'suites',
      trust(async () => {
        ecdsaSuite = await learnSuites(
          kit,
          accepted().filter((k) => groups().includes(groupOf(k))),
        )
      }),
    ],
    ['leaf keys', trust(() => learnLeafKeys(kit, keys, ecdsaSuite, groups()))],
    ['extra certificate', trust(() => learnExtraCertificate(kit, refusedKey(keys)))],
    ['sizes', trust(() => learnSizes(kit))],
    ['root keys', trust(() => learnRootKeys(kit, keys))],
    ['store size', trust(() => learnStoreSize(kit))],
    [
      'time-out',
      trust(async () => {
        const left = kit.session.budgetLeftMs()
        if (left === null || left >= TIMEOUT_PROBE_MS) await learnTimeout(kit)
        else
          kit.found.unknown(
            'errors.timeout',
            `not measured: a server that never answers may cost the module's whole time-out, and ${Math.round(left / 1000)} s of the budget were left`,
          )
      }),
    ],
  ]
  const end: LearnEnd = { stoppedBy: null, skipped: [] }
  for (const [i, [name, run]] of stages.entries()) {
    try {
      await run()
    } catch (err) {
      if (err instanceof BudgetSpent) {
        end.stoppedBy = 'budget'
        end.skipped = stages.slice(i).map(([n]) => n)
        break
      }
      if (err instanceof ModuleStopped || err instanceof ModuleLost) throw err
      throw Object.assign(err as Error, { stage: name })
    }
  }
  kit.found.unknown('errors.unspecified', 'no lines were shared by most failure classes')
  // Key limits from every position measured, even when the budget cut the later ones (which
  // may leave a key type without a verdict: its field is then unknown for the budget's sake).
  if (keys.size > 0)
    keyLimits(kit, keys, end.stoppedBy === 'budget' ? 'the budget was spent before every probe ran' : null)
  return end
}
