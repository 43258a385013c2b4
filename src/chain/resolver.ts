import { createHash } from 'node:crypto'
import type { Clock } from '../core/clock.js'
import { isAppError, messageOf } from '../core/errors.js'
import type { NameLookup, ResolveMap, Target } from '../hosts/index.js'
import { fetchAiaCertificates, type AiaOptions } from './aia.js'
import { candidateAnchors } from './anchors.js'
import { captureChain, type CaptureError } from './capture.js'
import type { CertCache } from './cert-cache.js'
import { MalformedCertificateError, type ParsedCert } from './cert-info.js'
import type { HelloProfile } from './hello.js'
import type { Observation } from './observation.js'
import { findPaths } from './paths.js'
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
  /** Aborting closes every connection in flight (a stopped batch abandons them). */
  signal?: AbortSignal
}

interface Analysis {
  anchors: Observation['anchors']
  untrustedAnchors: Observation['untrustedAnchors']
  fetched: ParsedCert[]
  errors: CaptureError[]
}

/**
 * Resolves targets one at a time (callers add concurrency). Analyses and AIA downloads are
 * cached by chain and URL: a survey meets the same chains again and again.
 */
export class Resolver {
  private readonly analyses = new Map<string, Promise<Analysis>>()
  private readonly aiaCache = new Map<string, Promise<Buffer[]>>()

  constructor(private readonly opts: ResolverOptions) {}

  async resolve(target: Target): Promise<Observation> {
    const { clock } = this.opts
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
      analysis = this.analyse(obs.served)
      this.analyses.set(obs.chainHash, analysis)
    }
    const a = await analysis
    obs.anchors = a.anchors
    obs.untrustedAnchors = a.untrustedAnchors
    obs.aia = { fetched: a.fetched, errors: a.errors }
    return obs
  }

  private async analyse(served: ParsedCert[]): Promise<Analysis> {
    const errors: CaptureError[] = []
    const aia = this.opts.aia
    const search = await findPaths({
      leaf: served[0]!,
      served,
      store: this.opts.store,
      maxDepth: 8,
      maxPaths: 64,
      fetchIssuers: aia
        ? async (cert) => {
            const out: ParsedCert[] = []
            for (const url of cert.info.caIssuers.slice(0, 4)) {
              let pending = this.aiaCache.get(url)
              if (!pending) {
                pending = fetchAiaCertificates(url, {
                  ...aia,
                  resolveMap: this.opts.resolveMap,
                  ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
                })
                this.aiaCache.set(url, pending)
              }
              try {
                for (const der of await pending) out.push(this.opts.cache.parse(der))
              } catch (err) {
                errors.push({
                  code: isAppError(err, 'AIA_REFUSED') ? 'aia-refused' : 'aia-failed',
                  message: messageOf(err),
                })
              }
            }
            return out
          }
        : undefined,
    })
    const { trusted, untrusted } = candidateAnchors(served, search, this.opts.store)
    return { anchors: trusted, untrustedAnchors: untrusted, fetched: search.fetched, errors }
  }
}
