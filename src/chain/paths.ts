import type { KeyObject } from 'node:crypto'
import type { Clock } from '../core/clock.js'
import type { ParsedCert } from './cert-info.js'
import { indexFields } from './der-names.js'
import type { TrustStore } from './trust-store.js'

/**
 * How much one target's path search may do. A server chooses its chain, and a mesh of CAs that
 * share one name and certify each other has factorially many paths: every bound here is on work
 * or memory, never on what an ordinary chain needs (tens of steps; a cross-signed root a few more).
 */
export interface SearchLimits {
  /** Partial paths extended (a certificate visited once per path reaching it). */
  maxNodes: number
  /** Issuer candidates examined (OpenSSL's name, AKI and key-usage check; about a microsecond each). */
  maxCandidates: number
  /** Signatures verified (a tenth of a millisecond to a millisecond each). */
  maxSignatures: number
  /** Complete paths kept (leaf to a trust-store certificate). */
  maxPaths: number
  /** Partial paths kept per certificate (an anchor's `paths`); a shorter one replaces the longest. */
  maxPrefixesPerCert: number
  /** Certificates in a path, leaf included. */
  maxDepth: number
}

export const SEARCH_LIMITS: SearchLimits = {
  maxNodes: 20_000,
  maxCandidates: 200_000,
  maxSignatures: 2_000,
  maxPaths: 64,
  maxPrefixesPerCert: 8,
  maxDepth: 8,
}

/** How many steps of work run between two returns to the event loop (Ctrl-C, timers, sockets). */
const STEPS_PER_YIELD = 256

/** How deep a CA's own issuers are followed to find a trust-store certificate. */
const MAX_TRUST_DEPTH = 8

export interface PathSearchInput {
  leaf: ParsedCert
  served: readonly ParsedCert[]
  store: TrustStore
  /** Fetches the issuers a certificate points at (AIA); only called when no issuer is at hand. */
  fetchIssuers?: (cert: ParsedCert) => Promise<ParsedCert[]>
  limits?: Partial<SearchLimits>
  /** The search ends at this `clock.monotonic()` value (the target's --timeout-ms). */
  deadline?: number
  clock?: Pick<Clock, 'monotonic'>
  /** Aborting ends the search at its next step (Ctrl-C). */
  signal?: AbortSignal
}

/** Why a search stopped before it had followed every path. */
export type SearchCutReason = 'nodes' | 'candidates' | 'signatures' | 'paths' | 'time' | 'aborted'

export interface SearchWork {
  nodes: number
  candidates: number
  signatures: number
}

export interface PathSearchResult {
  /** Signature-verified paths from the leaf to a certificate of the trust store (at most maxPaths). */
  paths: ParsedCert[][]
  /** Verified partial paths leaf → X, by X's fingerprint (X = leaf included), at most maxPrefixesPerCert each. */
  prefixes: Map<string, string[][]>
  /** Certificates obtained through AIA while searching. */
  fetched: ParsedCert[]
  /**
   * Fingerprints of served and fetched certificates shown to chain to a trust-store certificate
   * (within 8 issuers, every edge signature-checked), store certificates aside.
   */
  chainsToStore: Set<string>
  /**
   * Null when every path was followed. Otherwise the search stopped there: what it found is
   * true (every path verified), but what it did not find proves nothing — no "no path" claim.
   */
  cut: SearchCutReason | null
  work: SearchWork
  limits: SearchLimits
}

class Budget {
  readonly work: SearchWork = { nodes: 0, candidates: 0, signatures: 0 }
  cut: SearchCutReason | null = null
  private sinceYield = 0

  constructor(
    readonly limits: SearchLimits,
    private readonly input: PathSearchInput,
  ) {}

  /**
   * Counts one unit of work; false once its limit is reached (the search is then cut). After time
   * or a stop nothing more is done; after another limit, work of the other kinds may go on (the
   * trust closure still checks issuers when path walking hit its node limit).
   */
  spend(kind: 'nodes' | 'candidates' | 'signatures'): boolean {
    if (this.cut === 'time' || this.cut === 'aborted') return false
    const max =
      kind === 'nodes'
        ? this.limits.maxNodes
        : kind === 'candidates'
          ? this.limits.maxCandidates
          : this.limits.maxSignatures
    if (this.work[kind] >= max) {
      this.cut ??= kind
      return false
    }
    this.work[kind]++
    this.sinceYield++
    return true
  }

  /**
   * Between steps: every few hundred units of work, returns to the event loop (so a signal
   * handler, a timer or a socket can run) and checks the stop signal and the deadline. An
   * ordinary chain never gets here often enough to be cut by time.
   */
  async breathe(): Promise<void> {
    if (this.cut === 'time' || this.cut === 'aborted' || this.sinceYield < STEPS_PER_YIELD) return
    this.sinceYield = 0
    await new Promise<void>((resolve) => setImmediate(resolve))
    const { signal, deadline, clock } = this.input
    // A stop or the deadline replaces a work limit as the reason: nothing more will be done.
    if (signal?.aborted) this.cut = 'aborted'
    else if (deadline !== undefined && clock && clock.monotonic() >= deadline) this.cut = 'time'
  }

  /** True once time ran out or the user stopped: no work of any kind is done after that. */
  get over(): boolean {
    return this.cut === 'time' || this.cut === 'aborted'
  }
}

/**
 * Depth-first search over the served certificates, the store and AIA downloads. Every edge is
 * checked with OpenSSL's issuer check and the signature, so a path here is one a client could
 * build. Validity dates are not judged here: an expired path is still a path a device may try.
 * The search walks one path at a time (an explicit stack, one mutable path) and is bounded in
 * work, memory, time and by the stop signal; it returns to the event loop as it goes.
 */
export async function findPaths(input: PathSearchInput): Promise<PathSearchResult> {
  const limits: SearchLimits = { ...SEARCH_LIMITS, ...input.limits }
  const budget = new Budget(limits, input)
  // Certificates at hand by subject name, compared as the trust store compares them (by
  // attribute type and value, case and spaces folded, whatever the string encoding).
  const names = new Map<string, { subject: string; issuer: string }>()
  const namesOf = (c: ParsedCert) => {
    let n = names.get(c.info.sha256)
    if (!n) {
      try {
        const f = indexFields(c.der)
        n = { subject: f.subjectKey, issuer: f.issuerKey }
      } catch {
        n = { subject: c.subjectKey, issuer: c.issuerKey }
      }
      names.set(c.info.sha256, n)
    }
    return n
  }
  const pool = new Map<string, ParsedCert[]>()
  const poolFps = new Set<string>()
  let poolVersion = 0
  const addToPool = (c: ParsedCert) => {
    if (poolFps.has(c.info.sha256)) return
    poolFps.add(c.info.sha256)
    poolVersion++
    const key = namesOf(c).subject
    const list = pool.get(key)
    if (list) list.push(c)
    else pool.set(key, [c])
  }
  input.served.forEach(addToPool)
  const result: PathSearchResult = {
    paths: [],
    prefixes: new Map(),
    fetched: [],
    chainsToStore: new Set(),
    cut: null,
    work: budget.work,
    limits,
  }

  // Verified issuers per certificate, recomputed only when AIA has added to the pool; the
  // signature of a pair is checked once. A list computed while the budget ran out is partial.
  const signed = new Map<string, boolean>()
  const publicKeys = new Map<string, KeyObject>()
  const verifies = (child: ParsedCert, issuer: ParsedCert): boolean => {
    try {
      let key = publicKeys.get(issuer.info.sha256)
      if (!key) publicKeys.set(issuer.info.sha256, (key = issuer.node.publicKey))
      return child.node.verify(key)
    } catch {
      return false
    }
  }
  const issuerMemo = new Map<string, { version: number; issuers: ParsedCert[] }>()
  const issuersOf = (cert: ParsedCert): ParsedCert[] => {
    const memo = issuerMemo.get(cert.info.sha256)
    if (memo && memo.version === poolVersion) return memo.issuers
    const seen = new Set<string>()
    const out: ParsedCert[] = []
    let complete = true
    for (const cand of [...(pool.get(namesOf(cert).issuer) ?? []), ...input.store.issuersOf(cert)]) {
      const fp = cand.info.sha256
      if (seen.has(fp) || fp === cert.info.sha256) continue
      seen.add(fp)
      if (!budget.spend('candidates')) {
        complete = false
        break
      }
      if (!cert.node.checkIssued(cand.node)) continue
      const key = `${cert.info.sha256}>${fp}`
      let ok = signed.get(key)
      if (ok === undefined) {
        if (!budget.spend('signatures')) {
          complete = false
          break
        }
        signed.set(key, (ok = verifies(cert, cand)))
      }
      if (ok) out.push(cand)
    }
    if (complete) issuerMemo.set(cert.info.sha256, { version: poolVersion, issuers: out })
    return out
  }

  const fetchedFor = new Set<string>()
  const issuersFetching = async (cert: ParsedCert): Promise<ParsedCert[]> => {
    let issuers = issuersOf(cert)
    if (issuers.length === 0 && budget.cut === null && input.fetchIssuers && !fetchedFor.has(cert.info.sha256)) {
      fetchedFor.add(cert.info.sha256)
      for (const c of await input.fetchIssuers(cert)) {
        if (!poolFps.has(c.info.sha256)) result.fetched.push(c)
        addToPool(c)
      }
      issuers = issuersOf(cert)
    }
    return issuers
  }

  const recordPrefix = (fp: string, prefix: string[]) => {
    const list = result.prefixes.get(fp)
    if (!list) {
      result.prefixes.set(fp, [prefix])
      return
    }
    if (list.length < limits.maxPrefixesPerCert) {
      list.push(prefix)
      return
    }
    let longest = 0
    for (let i = 1; i < list.length; i++) if (list[i]!.length > list[longest]!.length) longest = i
    if (prefix.length < list[longest]!.length) list[longest] = prefix
  }

  // One path, extended and shortened in place; a frame per certificate on it with the issuers
  // left to try. Only what is kept (a prefix, a path) is copied.
  const path: ParsedCert[] = []
  const frames: Array<{ issuers: ParsedCert[]; next: number }> = []
  /** Puts `cert` at the end of the path, records it, and opens its issuers; false when the search must stop. */
  const enter = async (cert: ParsedCert): Promise<boolean> => {
    path.push(cert)
    recordPrefix(
      cert.info.sha256,
      path.map((c) => c.info.sha256),
    )
    if (input.store.has(cert.info.sha256)) result.paths.push([...path])
    const issuers = cert.info.selfSigned || path.length >= limits.maxDepth ? [] : await issuersFetching(cert)
    frames.push({ issuers, next: 0 })
    return budget.cut === null
  }

  if (budget.spend('nodes') && (await enter(input.leaf))) {
    while (frames.length > 0) {
      const top = frames[frames.length - 1]!
      if (top.next >= top.issuers.length) {
        frames.pop()
        path.pop()
        continue
      }
      const issuer = top.issuers[top.next++]!
      // A cross-signed CA appears as several certificates with one key: never revisit a key.
      if (path.some((c) => c.spkiHash === issuer.spkiHash)) continue
      if (result.paths.length >= limits.maxPaths) {
        budget.cut = 'paths'
        break
      }
      if (!budget.spend('nodes') || !(await enter(issuer))) break
      await budget.breathe()
      if (budget.cut) break
    }
  }
  await trustClosure(result, poolFps, pool, input.store, issuersOf, budget)
  result.cut = budget.cut
  return result
}

/**
 * Which served and fetched certificates chain to a trust-store certificate: those on a found
 * path, then, round after round (one issuer further each), any whose verified issuer is in the
 * store or already shown to chain. Shares the search's issuer checks and budget.
 */
async function trustClosure(
  result: PathSearchResult,
  poolFps: ReadonlySet<string>,
  pool: ReadonlyMap<string, ParsedCert[]>,
  store: TrustStore,
  issuersOf: (cert: ParsedCert) => ParsedCert[],
  budget: Budget,
): Promise<void> {
  const good = result.chainsToStore
  for (const p of result.paths) for (const c of p) if (poolFps.has(c.info.sha256)) good.add(c.info.sha256)
  const open = [...pool.values()].flat().filter((c) => !good.has(c.info.sha256) && !c.info.selfSigned)
  for (let round = 0; round < MAX_TRUST_DEPTH && open.length > 0; round++) {
    const before = good.size
    for (let i = open.length - 1; i >= 0; i--) {
      const cert = open[i]!
      // A search cut by time or by the user ends here too; one cut by a work limit still uses
      // the issuers it had checked (a list computed once the budget ran out is partial: then a
      // certificate may be left undecided, never wrongly trusted).
      if (budget.over) return
      const issuers = issuersOf(cert)
      if (issuers.some((c) => store.has(c.info.sha256) || good.has(c.info.sha256))) {
        good.add(cert.info.sha256)
        open.splice(i, 1)
      }
      await budget.breathe()
    }
    if (good.size === before) break
  }
}
