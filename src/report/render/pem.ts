import { createHash } from 'node:crypto'
import { toPem } from '../../chain/pem.js'
import type { AnchorSet, ReportModel } from '../model/types.js'
import { storeWords } from './text.js'

/** What the PEM export reads besides the model: certificates' DER, and which CAs no store vouched for. */
export interface PemSources {
  certificateDer(sha256: string): Buffer | null
  /** Anchors (sha256) the runs tried as untrusted (`--anchors include-untrusted`). */
  untrustedAnchors(): ReadonlySet<string>
}

export interface PemFile {
  /** `ca-<MODULE>-<FIRMWARE>.pem`, made of safe characters only. */
  name: string
  text: string
}

/** Longest comment text kept from one untrusted string. */
const COMMENT_MAX = 200
/** Targets named per CA; the rest are counted. */
const TARGETS_MAX = 100

/**
 * Untrusted text (a certificate subject, a target, a module name) as the body of a `#` comment:
 * printable ASCII only (anything else, CR and LF included, becomes `?`), and no run of two or more
 * `-`, so no comment can open or close a PEM block for any parser (mbedTLS finds
 * `-----BEGIN CERTIFICATE-----` anywhere in the text, not only at a line start).
 */
export function commentSafe(text: string, max = COMMENT_MAX): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?').replace(/-{2,}/g, '-')
  return printable.length > max ? `${printable.slice(0, max - 3)}...` : printable
}

/** A file name from untrusted text: letters, digits, `.`, `_` and `-` only; never `.` or `..` alone. */
function fileSafe(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)
  return /^\.*$/.test(s) ? `_${s}` : s
}

/**
 * The recommended CA set of each firmware as a PEM bundle, what a team flashes or uploads: one
 * file per firmware with a set, each CA preceded by `#` comments (its name, fingerprint, validity,
 * whether it is a root, and the targets it serves), then the targets that need another
 * provisioning. A CA whose stored DER does not hash to its fingerprint is left out and said so.
 * Every comment is made safe: certificate subjects and target names are attacker-controlled.
 */
export function pemFiles(model: ReportModel, sources: PemSources): PemFile[] {
  const untrusted = sources.untrustedAnchors()
  const used = new Set<string>()
  const out: PemFile[] = []
  for (const s of model.anchorSets) {
    if (s.anchors.length === 0) continue
    let name = `ca-${fileSafe(s.module)}-${fileSafe(s.firmware)}.pem`
    for (let i = 2; used.has(name); i++) name = `ca-${fileSafe(s.module)}-${fileSafe(s.firmware)}-${i}.pem`
    used.add(name)
    out.push({ name, text: pemText(model, s, sources, untrusted) })
  }
  return out
}

function pemText(model: ReportModel, s: AnchorSet, sources: PemSources, untrusted: ReadonlySet<string>): string {
  const c = (text: string) => `# ${text}`
  const name = (sha: string) => commentSafe(model.certificates[sha]?.subject ?? sha)
  const served = new Map<string, string[]>(s.anchors.map((sha) => [sha, []]))
  for (const p of s.perTarget) for (const sha of p.anchors) served.get(sha)?.push(p.target)
  const uncovered = s.uncovered ?? []
  const store = storeWords(s)
  const lines: string[] = [
    c(`tlsmatrix: the CA set recommended for ${commentSafe(s.module)} ${commentSafe(s.firmware)}`),
    c(`report "${commentSafe(model.title)}", generated ${commentSafe(model.generatedAt)}`),
    ...(store ? [c(`${store[0]!.toUpperCase()}${store.slice(1)}.`)] : []),
    c(
      `${s.anchors.length} CA(s), ${s.bytes} bytes as uploaded; they serve ${s.covers.length} of ${s.covers.length + uncovered.length} passing target(s).`,
    ),
    c('Text outside the BEGIN/END lines is comment: PEM parsers (OpenSSL, mbedTLS) skip it.'),
    '',
  ]
  for (const [i, sha] of s.anchors.entries()) {
    const cert = model.certificates[sha]
    const der = sources.certificateDer(sha)
    lines.push(c(`CA ${i + 1}: ${name(sha)}`), c(`  sha256 ${commentSafe(sha)}`))
    if (cert) {
      lines.push(
        c(`  valid ${commentSafe(cert.notBefore)} to ${commentSafe(cert.notAfter)}`),
        c(
          cert.selfSigned
            ? '  a self-signed root'
            : `  an intermediate (issued by ${commentSafe(cert.issuer)}): re-issued more often than a root; renew it with its issuer's`,
        ),
      )
    }
    if (untrusted.has(sha))
      lines.push(c('  WARNING: in no trust store; tried only because the run was asked to include untrusted anchors'))
    const targets = served.get(sha) ?? []
    lines.push(
      c(
        `  serves ${targets.length} target(s): ${targets
          .slice(0, TARGETS_MAX)
          .map((t) => commentSafe(t, 120))
          .join(', ')}${targets.length > TARGETS_MAX ? ` and ${targets.length - TARGETS_MAX} more` : ''}`,
      ),
    )
    if (!der || createHash('sha256').update(der).digest('hex') !== sha) {
      lines.push(c('  LEFT OUT: the database holds no certificate with this fingerprint'), '')
      continue
    }
    lines.push(toPem(der).trimEnd(), '')
  }
  if (uncovered.length) {
    lines.push(c(`${uncovered.length} passing target(s) need another provisioning (their CA is not in this file):`))
    for (const u of uncovered.slice(0, TARGETS_MAX))
      lines.push(
        c(
          `  ${commentSafe(u.target, 120)}: ${u.anchors
            .slice(0, 3)
            .map((sha) => `${name(sha)} (sha256 ${commentSafe(sha.slice(0, 16))})`)
            .join(' or ')}`,
        ),
      )
    if (uncovered.length > TARGETS_MAX)
      lines.push(c(`  and ${uncovered.length - TARGETS_MAX} more (report.json has all)`))
  }
  return `${lines.join('\n').trimEnd()}\n`
}
