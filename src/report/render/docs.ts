import { createHash } from 'node:crypto'
import { displayName } from '../../chain/display-name.js'
import { toPem } from '../../chain/pem.js'
import type { Cell, ReportModel, TargetRow } from '../model/types.js'
import { originText } from './markdown.js'
import { md, storeWords } from './text.js'

/** A certificate's DER as stored, by sha256; null when the database does not hold it. */
export type CertificateDer = (sha256: string) => Uint8Array | null

/**
 * `compatibility.md` (`--format docs`): the page a docs writer publishes. The matrix of the
 * targets that should be reachable, each passing cell with the full name of the CA to upload; per
 * firmware, the CAs to upload and the targets each serves, and each passing target the set cannot
 * serve (a store too small for all) with the CA to upload for it; each CA with its full name, subject,
 * SHA-256 and PEM; the docs statements. None of the QA sections: no diff, no disagreements, no
 * must-reject targets, no why, no module lines, no transcripts. Every string from a certificate,
 * server or module goes through `md()`; the PEM is made here from the stored DER (base64 only), after
 * checking it hashes to the SHA-256 it is listed under.
 */
export function renderDocs(model: ReportModel, der: CertificateDer): string {
  const out: string[] = []
  const reachable = model.targets.filter((t) => t.expect !== 'fail')
  const cells = new Map(model.cells.map((c) => [`${c.target}\u0000${c.key}`, c]))
  const shown = model.cells.filter((c) => c.expect !== 'fail')
  out.push(`# ${md(model.title)}`, '')
  out.push(
    `Which servers each module reaches, by firmware, and the CA to upload for each. Surveyed ${md(model.generatedAt.slice(0, 10))}; ${reachable.length} target(s) × ${model.firmware.length} firmware.`,
    '',
  )
  // A published matrix must not pass an emulator's word off as a module's.
  const emulated = shown.filter((c) => c.evidence.provenance?.kind === 'emu').length
  if (emulated)
    out.push(
      `> **Note:** ${emulated === shown.length ? `all ${emulated} results come` : `${emulated} of ${shown.length} results come`} from emulated modules (marked emulated): they follow the firmware profiles, not real modules.`,
      '',
    )
  out.push('## Compatibility matrix', '')
  out.push(
    '✅ pass: the module reaches the server with the CA named uploaded; ❌ fail: it does not (the failure class); ⏸ not tested (why); — no data.',
    '',
  )
  const groups = new Map<string, TargetRow[]>()
  for (const t of reachable) groups.set(t.tags[0] ?? '', [...(groups.get(t.tags[0] ?? '') ?? []), t])
  for (const [tag, rows] of groups) {
    if (groups.size > 1 || tag) out.push(`### ${tag ? md(tag) : 'Untagged'}`, '')
    out.push(
      row(['Server', ...model.firmware.map((f) => md(`${f.module} ${f.firmware}`))]),
      row(['---', ...model.firmware.map(() => '---')]),
    )
    for (const t of rows)
      out.push(
        row([
          md(t.port === 443 ? t.host : t.target),
          ...model.firmware.map((f) => docsCell(model, cells.get(`${t.target}\u0000${f.key}`))),
        ]),
      )
    out.push('')
  }
  if (!reachable.length) out.push('No target is expected to be reachable.', '')
  const left = model.targets.length - reachable.length
  if (left) out.push(`${left} must-reject test target(s) (expect=fail) are left out of this page.`, '')

  const cas = new Set<string>()
  out.push('## CAs to upload, per firmware', '')
  for (const s of model.anchorSets) {
    out.push(`### ${md(`${s.module} ${s.firmware}`)}`, '')
    const uncovered = s.uncovered ?? []
    if (!s.anchors.length && !uncovered.length) {
      out.push('No target passes: no CA to upload.', '')
      continue
    }
    const serves = new Map<string, string[]>(s.anchors.map((sha) => [sha, []]))
    for (const p of s.perTarget) for (const sha of p.anchors) serves.get(sha)?.push(p.target)
    if (s.anchors.length) {
      out.push(row(['CA', 'SHA-256', 'Servers']), row(['---', '---', '---']))
      for (const sha of s.anchors) {
        cas.add(sha)
        out.push(row([md(fullName(model, sha)), `\`${sha}\``, (serves.get(sha) ?? []).map(md).join(', ') || '—']))
      }
      out.push('')
    }
    // Every passing server gets its CA: those the set above cannot serve (the store holds too
    // few) are listed with the CA to upload instead, never left out of a page that promises one for each.
    if (uncovered.length) {
      const store = storeWords(s)
      out.push(
        `${s.anchors.length ? `${uncovered.length} more passing server(s) need another CA, uploaded instead of the one(s) above` : `${uncovered.length} passing server(s), each with the CA to upload for it`}${store ? `: ${store}` : ''}.`,
        '',
        row(['Server', 'CA to upload', 'SHA-256']),
        row(['---', '---', '---']),
      )
      for (const u of uncovered) {
        const sha = u.anchors[0]
        if (sha) cas.add(sha)
        out.push(row([md(u.target), sha ? md(fullName(model, sha)) : '—', sha ? `\`${sha}\`` : '—']))
      }
      out.push('')
    }
  }
  // Every CA a matrix cell names, also when it is not in the smallest set.
  for (const c of shown) if (c.verdict === 'pass' && c.anchors.passed[0]) cas.add(c.anchors.passed[0])

  out.push('## CA certificates', '')
  const ordered = [...cas].sort((a, b) => fullName(model, a).localeCompare(fullName(model, b)) || a.localeCompare(b))
  if (!ordered.length) out.push('None.', '')
  for (const sha of ordered) {
    const c = model.certificates[sha]
    out.push(`### ${md(fullName(model, sha))}`, '')
    if (c) {
      out.push(`- Subject: ${md(c.subject)}`)
      out.push(`- Issuer: ${md(c.issuer)}${c.selfSigned ? ' (self-signed root)' : ''}`)
      out.push(`- Key: ${md(c.key)}; ${c.bytes} bytes`)
      out.push(`- Valid: ${md(c.notBefore.slice(0, 10))} to ${md(c.notAfter.slice(0, 10))}`)
    }
    out.push(`- SHA-256: \`${sha}\``, '')
    const bytes = der(sha)
    if (!bytes) out.push('The certificate itself is not in the database: no PEM.', '')
    else if (createHash('sha256').update(bytes).digest('hex') !== sha)
      out.push('The stored bytes do not hash to this SHA-256: no PEM is given for it.', '')
    else out.push('```pem', toPem(bytes).trimEnd(), '```', '')
  }
  const statements = model.statements.filter((s) => reachable.some((t) => t.target === s.target))
  if (statements.length) out.push('## Summary by module', '', ...statements.map((s) => `- ${md(s.text)}`), '')
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`
}

function row(cols: readonly string[]): string {
  return `| ${cols.join(' | ')} |`
}

/** A CA's whole name, CN first (the matrix's name is cut to fit; a docs page names it in full). */
function fullName(model: ReportModel, sha: string): string {
  const c = model.certificates[sha]
  return c ? displayName(c.subject, Number.MAX_SAFE_INTEGER) : `sha256:${sha.slice(0, 16)}`
}

function docsCell(model: ReportModel, c: Cell | undefined): string {
  if (!c) return '— no data'
  let text: string
  if (c.verdict === 'pass')
    text = `✅ pass${c.anchors.passed[0] ? ` · ${md(fullName(model, c.anchors.passed[0]))}` : ''}`
  else if (c.verdict === 'fail') text = `❌ fail · ${md(c.class ?? 'unclassified')}`
  else text = `⏸ not tested (${md(c.notRun?.reason ?? 'unknown')})`
  return `${text}${originText(c)}`
}
