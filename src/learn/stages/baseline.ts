import type { LearnKit } from '../kit.js'
import { suiteAuth } from './hello.js'

/**
 * A chain that passes: root, intermediate, leaf, RSA-2048/SHA-256 (an ECDSA leaf when the hello
 * offers no RSA-authenticated suite), the root uploaded. Every later probe varies one thing
 * from it, so without it nothing about trust can be learned.
 */
export async function learnBaseline(kit: LearnKit): Promise<boolean> {
  const suites = (kit.found.values.get('tls.cipherSuites')?.value as string[] | undefined) ?? []
  if (suites.length > 0 && !suites.some((s) => suiteAuth(s) !== 'ecdsa')) kit.leafKey = 'ec-p256'
  await kit.makeBaseline()
  const o = await kit.probe(
    'baseline',
    `baseline chain: leaf ${kit.leafKey}, intermediate and root RSA-2048, SHA-256; the root uploaded`,
    kit.tls([kit.leaf, kit.int]),
  )
  kit.baseline = o
  kit.found.facts.baseline = { outcome: o.outcome, attempt: o.attemptId, lines: o.lines }
  if (o.outcome !== 'pass') {
    kit.found.notes.push(
      `No baseline chain passed (attempt ${o.attemptId}: ${o.lines.join(' / ')}): nothing about certificates could be learned.`,
    )
    return false
  }
  return true
}
