import type { Anchor, Observation, ParsedCert } from '../../chain/index.js'
import { termSafe } from '../../core/sanitize.js'
import { displayName } from '../../chain/display-name.js'

/** Human report of one observation: chain as sent, candidate anchors, error. */
export function observationText(o: Observation): string {
  const lines: string[] = []
  const status = o.error ? `FAILED ${o.error.code}` : 'ok'
  const head = [
    o.target,
    status,
    o.protocol,
    o.cipher,
    o.ip ? `ip=${o.ip}${o.connectPort && o.connectPort !== o.port ? ` port=${o.connectPort}` : ''}` : null,
    `sni=${o.sni ?? '(none)'}`,
    o.capture ? `(${o.capture})` : null,
  ]
  lines.push(termSafe(head.filter(Boolean).join('  ')))
  if (o.error) lines.push(`  error: ${termSafe(o.error.message)}`)
  if (o.served.length > 0) {
    lines.push(
      o.capture === 'reconstructed'
        ? `  chain (rebuilt by Node: the session was ${o.protocol ?? 'TLS 1.3'}, whose certificates travel encrypted, so the order as sent is unknown):`
        : '  chain as sent:',
    )
    const index = new Map(o.served.map((c, i) => [c.info.sha256, i]))
    o.served.forEach((c, i) => lines.push(`    #${i} ${certLine(c)}`))
    if (o.anchors.length === 0)
      lines.push('  anchors: none found (no path to a trusted root, no trusted CA matching an AKI)')
    else lines.push('  candidate anchors:')
    for (const a of o.anchors) lines.push(...anchorLines(a, index))
    if (o.untrustedAnchors.length > 0)
      lines.push('  not in any trust store (not candidates; run --anchors include-untrusted uploads them):')
    for (const a of o.untrustedAnchors) lines.push(...anchorLines(a, index))
  }
  for (const e of o.aia.errors) lines.push(`  aia: ${e.code}: ${termSafe(e.message)}`)
  return lines.join('\n')
}

function anchorLines(a: Anchor, index: ReadonlyMap<string, number>): string[] {
  const path = a.paths[0]?.map((fp) => (index.has(fp) ? `#${index.get(fp)}` : fp.slice(0, 8))).join(' > ')
  return [
    `    ${a.kind.padEnd(12)} ${a.source.padEnd(6)} ${termSafe(displayName(a.cert.info.subject, 60))}`,
    `      sha256 ${a.cert.info.sha256.slice(0, 16)}…  ski ${a.cert.info.ski ?? '-'}  ${keyText(a.cert)}  via ${a.match.join('+')}${path ? `  path ${path}` : ''}${a.paths.length > 1 ? ` (+${a.paths.length - 1} more)` : ''}`,
  ]
}

function keyText(c: ParsedCert): string {
  const k = c.info.key
  return k.curve ? `${k.type} ${k.curve}` : `${k.type} ${k.bits ?? '?'}`
}

function certLine(c: ParsedCert): string {
  const i = c.info
  const flags = [i.selfSigned ? 'self-signed' : null, i.isCA ? 'CA' : null].filter(Boolean).join(',')
  return termSafe(
    `${displayName(i.subject, 56)}  [${keyText(c)}, ${i.signature}, ${i.derBytes} B, until ${i.notAfter.slice(0, 10)}${flags ? ', ' + flags : ''}]`,
  )
}

export function summaryText(observations: readonly Observation[]): string {
  const failed = observations.filter((o) => o.error)
  const codes = new Map<string, number>()
  for (const o of failed) codes.set(o.error!.code, (codes.get(o.error!.code) ?? 0) + 1)
  const parts = [...codes].map(([c, n]) => `${n} ${c}`).join(', ')
  return `${observations.length} targets: ${observations.length - failed.length} resolved, ${failed.length} failed${parts ? ` (${parts})` : ''}`
}
