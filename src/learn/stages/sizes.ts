import type { LearnKit } from '../kit.js'
import type { ProbeCert, ProbeCertOptions } from '../lab/index.js'
import { searchLargest, type SizeProbe } from '../search.js'
import type { ProbeOutcome } from '../session.js'

const O = 'O=tlsmatrix learn'
/** Search resolution (bytes): the issue's "within 64 bytes". */
export const RESOLUTION = 64
/** Largest certificate tried; a module that takes it has no limit worth a profile field. */
export const MAX_CERT_TRIED = 16_384
export const MAX_CHAIN_TRIED = 65_536
export const MAX_CA_TRIED = 16_384

const step = (o: ProbeOutcome): boolean | null => (o.outcome === 'not-run' ? null : o.outcome === 'pass')

/**
 * The largest certificate and the largest chain the module takes, by padding: first the leaf
 * alone (chain leaf + intermediate), then chains of small certificates (the intermediate sent
 * again) with the leaf padded to the byte, so no single certificate nears the first limit.
 */
export async function learnSizes(kit: LearnKit): Promise<void> {
  const leafOptions: ProbeCertOptions = {
    subject: `CN=${kit.names.host}, ${O}`,
    key: kit.leafKey,
    keySlot: 'leaf',
    issuer: kit.int,
    sans: [kit.names.host],
  }
  const intBytes = kit.int.der.length
  const leafMin = kit.leaf.der.length
  const failing: Array<{ lines: string[]; attempt: number | null }> = []
  const cert = await searchLargest(leafMin, MAX_CERT_TRIED, RESOLUTION, async (bytes): Promise<SizeProbe> => {
    const leaf = await kit.pki.issueSized(leafOptions, bytes)
    const o = await kit.probe(
      `size.certificate.${leaf.der.length}`,
      `a ${leaf.der.length}-byte leaf`,
      kit.tls([leaf, kit.int]),
    )
    if (o.outcome === 'fail') failing.push({ lines: o.lines, attempt: o.attemptId })
    return { ok: step(o), size: leaf.der.length }
  })
  const certAttempts = failing.map((x) => x.attempt)
  for (const x of failing) kit.found.lines('too-large', x.lines, x.attempt)

  const cap = Math.min(cert.largest, MAX_CERT_TRIED)
  const chainMin = leafMin + intBytes
  const chainFor = async (total: number): Promise<ProbeCert[] | null> => {
    let copies = Math.max(1, Math.ceil((total - cap) / intBytes))
    while (copies > 1 && total - copies * intBytes < leafMin) copies--
    const leafBytes = total - copies * intBytes
    if (leafBytes < leafMin) return null
    const leaf = await kit.pki.issueSized(leafOptions, Math.min(leafBytes, cap))
    return [leaf, ...Array.from({ length: copies }, () => kit.int)]
  }
  const chainAttempts: Array<number | null> = []
  const chain = await searchLargest(chainMin, MAX_CHAIN_TRIED, RESOLUTION, async (total): Promise<SizeProbe> => {
    const certs = await chainFor(total)
    if (!certs) return { ok: true, size: chainMin }
    const size = certs.reduce((n, c) => n + c.der.length, 0)
    const o = await kit.probe(
      `size.chain.${size}`,
      `a ${size}-byte chain of ${certs.length} certificates (the intermediate sent ${certs.length - 1} times)`,
      kit.tls(certs),
    )
    chainAttempts.push(o.attemptId)
    if (o.outcome === 'fail') kit.found.lines('too-large', o.lines, o.attemptId)
    return { ok: step(o), size }
  })

  if (cert.incomplete) kit.found.unknown('tls.maxCertificateBytes', 'a size probe got no verdict')
  else if (
    cert.smallestFailing !== null &&
    !chain.incomplete &&
    chain.smallestFailing !== null &&
    cert.smallestFailing + intBytes > chain.largest
  ) {
    // The failing leaf made the chain too large: the certificate limit, if any, is above what the chain allows.
    kit.found.unknown('tls.maxCertificateBytes', `masked by the chain limit (${chain.largest} bytes)`)
  } else {
    kit.found.set(
      'tls.maxCertificateBytes',
      cert.smallestFailing === null ? null : cert.largest,
      'probe',
      certAttempts.length ? certAttempts : [],
      cert.smallestFailing === null
        ? `a ${cert.largest}-byte leaf passed, the largest tried`
        : `${cert.largest} bytes passed, ${cert.smallestFailing} failed`,
    )
  }
  if (!cert.incomplete && !chain.incomplete && cert.smallestFailing === null && chain.smallestFailing === null) {
    kit.found.unknown(
      'errors.too-large',
      `nothing was too large for the module (a ${cert.largest}-byte leaf and a ${chain.largest}-byte chain passed)`,
    )
  }
  if (chain.incomplete) kit.found.unknown('tls.maxChainBytes', 'a size probe got no verdict')
  else
    kit.found.set(
      'tls.maxChainBytes',
      chain.smallestFailing === null ? null : chain.largest,
      'probe',
      chainAttempts,
      chain.smallestFailing === null
        ? `a ${chain.largest}-byte chain passed, the largest tried`
        : `${chain.largest} bytes passed, ${chain.smallestFailing} failed`,
    )
}

/** The largest CA the store takes: a binary search on the upload itself (one upload a step). */
export async function learnStoreSize(kit: LearnKit): Promise<void> {
  const attempts: Array<number | null> = []
  const base = await kit.session.tryUpload('store.ca.baseline', 'the baseline root (accepted before)', kit.root)
  attempts.push(base.attemptId)
  if (!base.accepted) return kit.found.unknown('store.maxCaBytes', 'the baseline root was refused on upload')
  const options: ProbeCertOptions = {
    subject: `CN=tlsmatrix learn store probe, ${O}`,
    key: 'rsa-2048',
    keySlot: 'store',
    issuer: 'self',
    ca: true,
  }
  const r = await searchLargest(
    kit.root.der.length,
    MAX_CA_TRIED,
    RESOLUTION,
    async (bytes): Promise<SizeProbe> => {
      const ca = await kit.pki.issueSized(options, bytes)
      const u = await kit.session.tryUpload(`store.ca.${ca.der.length}`, `a ${ca.der.length}-byte CA`, ca)
      attempts.push(u.attemptId)
      return { ok: u.accepted, size: u.bytes }
    },
    base.bytes,
  )
  if (r.incomplete) return kit.found.unknown('store.maxCaBytes', 'an upload got no answer')
  // The search ran on DER sizes; the store counts what was uploaded (PEM on some dialects).
  kit.found.set(
    'store.maxCaBytes',
    r.largest,
    'probe',
    attempts,
    r.smallestFailing === null
      ? `a ${r.largest}-byte upload was taken, the largest tried`
      : `${r.largest} bytes taken, ${r.smallestFailing} refused`,
  )
}
