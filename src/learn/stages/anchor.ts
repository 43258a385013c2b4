import type { LearnKit } from '../kit.js'

const O = 'O=tlsmatrix learn'

/**
 * How the module finds the uploaded CA: a root and intermediate without key identifiers pass
 * only when it builds the path by name and signature, not when it looks the CA up by the AKI.
 * An uploaded intermediate (which has key ids) is tried too: whether it can be the anchor.
 */
export async function learnAnchorMatch(kit: LearnKit): Promise<void> {
  const root = await kit.pki.issue({
    subject: `CN=tlsmatrix learn Root without key ids, ${O}`,
    key: 'rsa-2048',
    keySlot: 'root-noid',
    issuer: 'self',
    ca: true,
    keyIds: false,
  })
  const int = await kit.pki.issue({
    subject: `CN=tlsmatrix learn Intermediate without key ids, ${O}`,
    key: 'rsa-2048',
    keySlot: 'int',
    issuer: root,
    ca: true,
    keyIds: false,
  })
  const leaf = await kit.issueLeaf({ issuer: int, keyIds: false })
  const a = await kit.probe(
    'anchor.no-key-ids',
    'a root and intermediate without key identifiers, the root uploaded',
    kit.tls([leaf, int]),
    root,
  )
  const b = await kit.probe(
    'anchor.intermediate',
    'the baseline chain with its intermediate uploaded',
    kit.tls([kit.leaf, kit.int]),
    kit.int,
  )
  if (a.outcome === 'fail') kit.found.lines('untrusted', a.lines, a.attemptId)
  if (b.outcome !== 'not-run') kit.found.facts.intermediateAsAnchor = b.outcome === 'pass' ? 'accepted' : 'refused'
  if (a.outcome === 'not-run')
    return kit.found.unknown('tls.anchorMatch', 'the probe without key identifiers got no verdict')
  kit.found.set(
    'tls.anchorMatch',
    a.outcome === 'pass' ? 'path' : 'ski-aki',
    'probe',
    [a.attemptId, b.attemptId],
    a.outcome === 'pass' ? 'a CA without key identifiers was found' : 'a CA without key identifiers was not found',
  )
}
