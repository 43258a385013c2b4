import type { TlsVersion } from '../../chain/index.js'
import type { KeySpec } from '../../lab/spec.js'
import type { LearnKit } from '../kit.js'
import type { ProbeCert } from '../lab/index.js'
import { suiteAuth } from './hello.js'

const O = 'O=tlsmatrix learn'
const TLS13_SUITE = /^TLS_(AES|CHACHA20)_/

/** Each version the hello allows, against a server that speaks only that one. */
export async function learnVersions(kit: LearnKit, offered: readonly TlsVersion[]): Promise<void> {
  const ok: TlsVersion[] = []
  const attempts: Array<number | null> = []
  for (const v of offered) {
    const o = await kit.probe(
      `version.${v}`,
      `a server that speaks ${v} only`,
      kit.tls([kit.leaf, kit.int], { versions: [v] }),
    )
    attempts.push(o.attemptId)
    if (o.outcome === 'not-run') return kit.found.unknown('tls.versions', `the ${v} probe got no verdict`)
    if (o.outcome === 'pass') ok.push(v)
  }
  kit.found.set('tls.versions', ok, 'probe', attempts, `the hello allows ${offered.join(', ')}`)
  // Later chain probes use what the module speaks, so a failure is never the version's.
  if (ok.length) kit.versions = ok
}

/**
 * Each suite the hello offers, against a server that accepts only that one (and an ECDSA leaf
 * for an ECDSA suite): firmware sometimes offers what it cannot finish. Returns an ECDSA suite
 * that completed, for the leaf-key probes.
 */
export async function learnSuites(kit: LearnKit, ecKeys: readonly KeySpec[]): Promise<string | null> {
  const found = kit.found.values.get('tls.cipherSuites')
  if (!found) return null
  const suites = found.value as string[]
  const versions = kit.versions ?? []
  let ecLeaf: ProbeCert | null = null
  const failed: string[] = []
  let ecdsaSuite: string | null = null
  for (const s of suites) {
    const is13 = TLS13_SUITE.test(s)
    if (is13 && !versions.includes('TLSv1.3')) {
      failed.push(`${s} (TLS 1.3 not completed)`)
      continue
    }
    let chain: ProbeCert[] = [kit.leaf, kit.int]
    if (suiteAuth(s) === 'ecdsa') {
      const curve = ecKeys[0]
      if (!curve) {
        failed.push(`${s} (no curve the module accepts for an ECDSA leaf)`)
        continue
      }
      ecLeaf ??= await kit.pki.issue({
        subject: `CN=${kit.names.host}, ${O}`,
        key: curve,
        keySlot: 'leaf',
        issuer: kit.int,
        sans: [kit.names.host],
      })
      chain = [ecLeaf, kit.int]
    }
    const v: TlsVersion[] = is13 ? ['TLSv1.3'] : versions.filter((x) => x !== 'TLSv1.3')
    const o = await kit.probe(
      `suite.${s}`,
      `a server that accepts ${s} only`,
      kit.tls(chain, { cipherSuites: [s], ...(v.length ? { versions: v } : {}) }),
    )
    if (o.attemptId !== null) found.attempts.push(o.attemptId)
    const chosen = o.connections.find((c) => c.completed)?.cipher ?? null
    if (o.outcome === 'pass' && (chosen === null || chosen === s)) {
      if (suiteAuth(s) === 'ecdsa') ecdsaSuite ??= s
    } else failed.push(`${s} (${o.outcome}${chosen && chosen !== s ? `, negotiated ${chosen}` : ''})`)
  }
  if (failed.length) found.note = `offered but did not complete: ${failed.join(', ')}`
  kit.found.facts.suitesNotCompleted = failed
  return ecdsaSuite
}
