import { parseCertificate, sha256Hex, type ParsedCert } from './cert-info.js'

/**
 * Parsed certificates by fingerprint. A survey sees the same intermediates and roots for many
 * targets; parsing each once keeps resolution bound by the network, not by ASN.1.
 */
export class CertCache {
  private readonly byFp = new Map<string, ParsedCert>()
  constructor(private readonly maxEntries = 20000) {}

  parse(der: Buffer): ParsedCert {
    const fp = sha256Hex(der)
    const hit = this.byFp.get(fp)
    if (hit) return hit
    const parsed = parseCertificate(der)
    if (this.byFp.size >= this.maxEntries) this.byFp.delete(this.byFp.keys().next().value as string)
    this.byFp.set(fp, parsed)
    return parsed
  }
}
