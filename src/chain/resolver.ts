import { setMaxListeners } from 'node:events'
import { createHash } from 'node:crypto'
import type { Clock } from '../core/clock.js'
import { AppError, isAppError, messageOf } from '../core/errors.js'
import type { NameLookup, ResolveMap, Target } from '../hosts/index.js'
import { fetchAiaCertificates, type AiaOptions } from './aia.js'
import { candidateAnchors } from './anchors.js'
import { captureChain, type CaptureError } from './capture.js'
import type { CertCache } from './cert-cache.js'
import { MalformedCertificateError, type ParsedCert } from './cert-info.js'
import type { HelloProfile } from './hello.js'
import type { Observation, PathSearchSummary } from './observation.js'
import { findPaths, type PathSearchResult, type SearchLimits } from './paths.js'
import type { TrustStore } from './trust-store.js'

export interface ResolverOptions {
  store: TrustStore
  cache: CertCache
  hello: HelloProfile
  timeoutMs: number
  resolveMap: ResolveMap
  /** AIA fetching options, or null to never fetch. */
  aia: Omit<AiaOptions, 'resolveMap'> | null
  clock: Clock
  /** Largest Certificate message accepted, bytes. */
  maxCertificateMessage?: number
  /** Name-to-address lookup; the system resolver by default. */
  lookup?: NameLookup
  /** Aborting closes every connection in flight (a stopped batch abandons them) and ends path searches. */
  signal?: AbortSignal
  /** Bounds of each target's path search (SEARCH_LIMITS by default). */
  searchLimits?: Partial<SearchLimits>
  /** Most AIA downloads one target may start (MAX_AIA_DOWNLOADS by default). */
  maxAiaDownloads?: number
}

/** AIA downloads one target may start, whatever its chain asks for. */
export const MAX_AIA_DOWNLOADS = 8

/** A download is not started with less time than this left of the target's budget. */
const MIN_AIA_MS = 50

interface Analysis {
  anchors: Observation['anchors']
  untrustedAnchors: Observation['untrustedAnchors']
  fetched: ParsedCert[]
  errors: CaptureError[]
  search: PathSearchSummary
  /**
   * The result depends on the first target's own time budget (a download cut short or not
   * started, a search stopped by time or by the user): not reused for another target.
   */
  budgetBound: boolean
}

/**
 * Resolves targets one at a time (callers add concurrency). Analyses and AIA downloads are
 * cached by chain and URL: a survey meets the same chains again and again.
 */
export class Resolver {
  private readonly analyses = new Map<string, Promise<Analysis>>()
  private readonly aiaCache = new Map<string, Promise<Buffer[]>>()

  constructor(private readonly opts: ResolverOptions) {
    // Every connection and AIA fetch in flight listens to the one signal, as many as the batch's
    // concurrency: many listeners is the design here, not a leak (each removes its own at its end).
    if (opts.signal) setMaxListeners(0, opts.signal)
  }

  async resolve(target: Target): Promise<Observation> {
    const { clock } = this.opts
    // One time budget per target: the handshake, AIA downloads and the path search share it.
    const deadline = clock.monotonic() + this.opts.timeoutMs
    const cap = await captureChain(
      {
        host: target.host,
        port: target.port,
        sni: this.opts.hello.sni ? target.sni : null,
        resolveMap: this.opts.resolveMap,
        hello: this.opts.hello,
        timeoutMs: this.opts.timeoutMs,
        tls13Fallback: true,
        maxCertificateMessage: this.opts.maxCertificateMessage ?? 256 * 1024,
        ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      },
      clock,
    )
    const obs: Observation = {
      target: target.id,
      host: target.host,
      port: target.port,
      sni: cap.sni,
      observedAt: clock.now().toISOString(),
      ip: cap.ip,
      connectPort: cap.connectPort,
      protocol: cap.protocol,
      cipher: cap.cipher,
      capture: cap.capture,
      error: cap.error,
      timings: cap.timings,
      served: [],
      chainHash: null,
      anchors: [],
      untrustedAnchors: [],
      aia: { fetched: [], errors: [] },
    }
    if (cap.certificates.length === 0) return obs
    try {
      obs.served = cap.certificates.map((der) => this.opts.cache.parse(der))
    } catch (err) {
      obs.error = { code: 'malformed-certificate', message: messageOf(err) }
      if (!(err instanceof MalformedCertificateError)) obs.error.message = `internal: ${messageOf(err)}`
      return obs
    }
    obs.chainHash = createHash('sha256')
      .update(obs.served.map((c) => c.info.sha256).join(','))
      .digest('hex')
    let analysis = this.analyses.get(obs.chainHash)
    if (!analysis) {
      analysis = this.analyse(obs.served, deadline)
      this.analyses.set(obs.chainHash, analysis)
    }
    const a = await analysis
    if (a.budgetBound && this.analyses.get(obs.chainHash) === analysis) this.analyses.delete(obs.chainHash)
    obs.anchors = a.anchors
    obs.untrustedAnchors = a.untrustedAnchors
    obs.aia = { fetched: a.fetched, errors: a.errors }
    obs.search = a.search
    if (a.search.cut === 'aborted') obs.error = { code: 'aborted', message: 'stopped by the user' }
    else if (a.search.cut !== null) {
      const also = obs.error ? ` (the capture also said ${obs.error.code}: ${obs.error.message})` : ''
      obs.error = { code: 'path-search-limit', message: `${searchLimitMessage(a.search)}${also}` }
    }
    return obs
  }

  private async analyse(served: ParsedCert[], deadline: number): Promise<Analysis> {
    const { clock, signal } = this.opts
    const errors: CaptureError[] = []
    const aia = this.opts.aia
    const maxDownloads = this.opts.maxAiaDownloads ?? MAX_AIA_DOWNLOADS
    let downloads = 0
    let budgetBound = false
    const skipped = { time: 0, count: 0 }
    const fetchIssuers = async (cert: ParsedCert): Promise<ParsedCert[]> => {
      const out: ParsedCert[] = []
      for (const url of cert.info.caIssuers.slice(0, 4)) {
        // Every download of this target draws on one budget, the rest of its --timeout-ms, and
        // on a count: a chain of many certificates with dead URLs cannot queue minutes of waits.
        const left = deadline - clock.monotonic()
        if (signal?.aborted) break
        if (left < MIN_AIA_MS) {
          skipped.time++
          continue
        }
        if (downloads >= maxDownloads) {
          skipped.count++
          continue
        }
        downloads++
        try {
          for (const der of await this.download(url, aia!, left)) out.push(this.opts.cache.parse(der))
        } catch (err) {
          if (left < aia!.timeoutMs) budgetBound = true
          errors.push({
            code: isAppError(err, 'AIA_REFUSED') ? 'aia-refused' : 'aia-failed',
            message: messageOf(err),
          })
        }
      }
      return out
    }
    const search = await findPaths({
      leaf: served[0]!,
      served,
      store: this.opts.store,
      ...(this.opts.searchLimits ? { limits: this.opts.searchLimits } : {}),
      deadline,
      clock,
      ...(signal ? { signal } : {}),
      ...(aia ? { fetchIssuers } : {}),
    })
    if (skipped.time > 0)
      errors.push({
        code: 'aia-failed',
        message: `${skipped.time} AIA URL${skipped.time === 1 ? '' : 's'} not fetched: the target's --timeout-ms budget (${this.opts.timeoutMs} ms) was spent`,
      })
    if (skipped.count > 0)
      errors.push({
        code: 'aia-failed',
        message: `${skipped.count} AIA URL${skipped.count === 1 ? '' : 's'} not fetched: at most ${maxDownloads} AIA downloads per target`,
      })
    const { trusted, untrusted } = candidateAnchors(served, search, this.opts.store)
    return {
      anchors: trusted,
      untrustedAnchors: untrusted,
      fetched: search.fetched,
      errors,
      search: summary(search),
      budgetBound: budgetBound || skipped.time > 0 || search.cut === 'time' || search.cut === 'aborted',
    }
  }

  /**
   * One AIA URL within `budgetMs`. Downloads are shared by URL across targets (a survey meets the
   * same intermediates again and again); a target waiting on another's download still waits no
   * longer than its own budget, and a download cut short by a small budget is not kept as the
   * URL's answer.
   */
  private async download(url: string, aia: NonNullable<ResolverOptions['aia']>, budgetMs: number): Promise<Buffer[]> {
    let pending = this.aiaCache.get(url)
    if (!pending) {
      const timeoutMs = Math.min(aia.timeoutMs, Math.round(budgetMs))
      const started = fetchAiaCertificates(url, {
        ...aia,
        timeoutMs,
        resolveMap: this.opts.resolveMap,
        ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      })
      pending = started
      this.aiaCache.set(url, started)
      if (timeoutMs < aia.timeoutMs)
        started.catch(() => {
          if (this.aiaCache.get(url) === started) this.aiaCache.delete(url)
        })
    }
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new AppError(
                  'AIA_FAILED',
                  `AIA ${url}: timed out, no answer within ${Math.round(budgetMs)} ms (what was left of the target's budget)`,
                ),
              ),
            Math.max(1, budgetMs),
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }
}

function summary(s: PathSearchResult): PathSearchSummary {
  return { ...s.work, paths: s.paths.length, cut: s.cut, limits: s.limits }
}

const CUT_WORDS: Record<Exclude<PathSearchSummary['cut'], null>, (s: PathSearchSummary) => string> = {
  nodes: (s) => `at its limit of ${s.limits.maxNodes} partial paths`,
  candidates: (s) => `at its limit of ${s.limits.maxCandidates} issuer candidates`,
  signatures: (s) => `at its limit of ${s.limits.maxSignatures} signature checks`,
  paths: (s) => `at its limit of ${s.limits.maxPaths} complete paths`,
  time: () => "when the target's --timeout-ms ran out",
  aborted: () => 'when stopped by the user',
}

/** Says where the search stopped and what that means for what it found. */
function searchLimitMessage(s: PathSearchSummary): string {
  const found =
    s.paths === 0 ? 'no path to a trust store found so far' : `${s.paths} verified path${s.paths === 1 ? '' : 's'} kept`
  return (
    `path search stopped ${CUT_WORDS[s.cut!](s)} (${s.nodes} partial paths walked, ${s.signatures} signatures checked): ` +
    `${found}; the chain may hold paths not followed, so "no path" is not concluded`
  )
}
