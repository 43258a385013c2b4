import type {
  AnchorSet,
  Cell,
  ChainChange,
  DiffEntry,
  FirmwareColumn,
  ReportModel,
  TargetRow,
  Verdict,
} from '../model/types.js'
import { diffCountsText, diffMarks, sideLabels } from '../model/diff.js'
import { agreementCaveat } from '../model/provenance.js'
import { certName, md, storeWords, unreadableText } from './text.js'

/**
 * `matrix.md`: the report as GitHub Markdown for docs. Kept diff-friendly for nightly commits:
 * the model's order everywhere, nothing that changes by itself from one day to the next inside a
 * table (no timestamps, no "days left"); `generatedAt` appears once, above the tables. Every
 * string from a certificate, server or module goes through `md()`; a verdict is a symbol and a
 * word, never a colour alone.
 */
export function renderMarkdown(model: ReportModel): string {
  const byKey = cellIndex(model.cells)
  const out: string[] = []
  out.push(`# ${md(model.title)}`, '')
  out.push(
    `Generated ${md(model.generatedAt)} from ${model.runs.length} run(s): ${model.runs.map((r) => `${md(r.id)}${r.label ? ` (${md(r.label)})` : ''}${r.status === 'complete' ? '' : ` [${md(r.status)}]`}`).join(', ') || 'none'}.`,
    '',
  )
  // Section by section, line by line: `push(...lines)` of a section of 125,000 lines overflows the stack.
  const add = (lines: readonly string[]) => {
    for (const l of lines) out.push(l)
    out.push('')
  }
  add(summary(model))
  add(unreadable(model))
  add(disagreements(model))
  add(unsafe(model))
  if (model.rigDifferences.length) add(rigDifferences(model))
  add(matrix(model, byKey))
  add(failures(model))
  if (model.diff) add(diff(model))
  if (model.chainChanges.length) add(chainChanges(model))
  if (model.expiring.length) add(expiring(model))
  if (model.anchorSets.length) add(anchorSets(model))
  if (model.statements.length) add(['## Statements', '', ...model.statements.map((s) => `- ${md(s.text)}`)])
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`
}

/** Rows of the database the report could not read: said near the top, since cells may be missing for them. */
function unreadable(model: ReportModel): string[] {
  const u = model.unreadable
  if (!u || u.rows.length === 0) return []
  return [
    '## Rows the report could not read',
    '',
    ...u.rows.map((r) => `- ${md(unreadableText(r))}`),
    ...(u.more ? [`- and ${u.more} more`] : []),
  ]
}

const VERDICT_MARK: Record<Verdict, string> = { pass: '✅ pass', fail: '❌ fail', 'not-run': '⏸ not-run' }

function cellIndex(cells: readonly Cell[]): Map<string, Cell> {
  return new Map(cells.map((c) => [`${c.target}\u0000${c.key}`, c]))
}

function row(cols: readonly string[]): string {
  return `| ${cols.join(' | ')} |`
}

function table(header: readonly string[], rows: readonly string[][]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)]
}

function summary(model: ReportModel): string[] {
  const count = (f: (c: Cell) => boolean) => model.cells.filter(f).length
  const unsafeN = count((c) => c.unsafe)
  const lines = [
    `- ${unsafeN ? '🚨 ' : ''}**${unsafeN} unsafe accept(s)**: must-reject targets a module accepted`,
    `- ${model.disagreements} disagreement(s) between prediction and observation`,
    ...(count((c) => c.evidence.provenance?.kind === 'emu')
      ? [
          `- ${count((c) => c.evidence.provenance?.kind === 'emu')} cell(s) from emulated modules: their verdicts follow the firmware profiles, not real modules`,
        ]
      : []),
    `- ${count((c) => c.mismatch)} expect= mismatch(es)`,
    `- ${count((c) => c.verdict === 'pass')} ✅ pass, ${count((c) => c.verdict === 'fail')} ❌ fail, ${count((c) => c.verdict === 'not-run')} ⏸ not-run, over ${model.targets.length} target(s) and ${model.firmware.length} firmware column(s)`,
  ]
  const d = model.diff
  if (d) {
    // Regressions come first: they are what a gate and a nightly reader look for.
    lines.unshift(
      `- ${d.regressions.length ? '▼ ' : ''}**${d.regressions.length} regression(s)**, ${d.fixes.length} fix(es) from ${md(d.baseline)} to ${md(d.candidate)}${d.regressions.length ? `: ${d.regressions.map((r) => `${md(r.target)} on ${md(r.candidateKey ?? '?')}`).join(', ')}` : ''}`,
    )
    lines.push(`- diff ${md(d.baseline)} → ${md(d.candidate)}: ${diffCountsText(d)}`)
  }
  return lines
}

/** The verdict of a cell in a few words: symbol, verdict, then what it rests on. */
function verdictText(model: ReportModel, c: Cell): string {
  let text = VERDICT_MARK[c.verdict]
  if (c.verdict === 'pass' && c.anchors.passed[0]) text += ` · ${md(certName(model.certificates, c.anchors.passed[0]))}`
  if (c.verdict === 'fail' && c.class) text += ` · ${md(c.class)}`
  if (c.verdict === 'not-run' && c.notRun) text += ` · ${md(c.notRun.reason)}`
  return text
}

function predictedText(c: Cell): string {
  return `${md(c.predicted)}${c.predictedClass ? ` · ${md(c.predictedClass)}` : ''}`
}

/** The diff's marks per cell, worked out once per model. */
const marksCache = new WeakMap<ReportModel, Map<string, 'regressed' | 'fixed'>>()
function marks(model: ReportModel): Map<string, 'regressed' | 'fixed'> {
  let m = marksCache.get(model)
  if (!m) marksCache.set(model, (m = diffMarks(model.diff)))
  return m
}

function cellText(model: ReportModel, c: Cell | undefined): string {
  if (!c) return '— no data'
  let text = verdictText(model, c)
  if (c.unsafe) text = `🚨 **UNSAFE** ${text}`
  else if (c.mismatch && c.expect) text += ` · ⚠️ expected ${c.expect}`
  if (c.disagree) text += ` · ≠ predicted ${predictedText(c)}`
  const mark = marks(model).get(`${c.target}\u0000${c.key}`)
  if (mark) text += mark === 'regressed' ? ' · **▼ regressed**' : ' · ▲ fixed'
  return text + originText(c)
}

/** Emulated (the verdict follows the profile) or unknown; a module on a line is the unmarked case. */
export function originText(c: Cell): string {
  const kind = c.evidence.provenance?.kind
  if (kind === 'emu') return ' · emulated'
  return kind ? '' : ' · device ?'
}

function lineList(lines: readonly string[]): string {
  return lines.length ? lines.map(md).join(' ⏎ ') : '(none)'
}

function disagreements(model: ReportModel): string[] {
  const cells = model.cells.filter((c) => c.disagree)
  const caveat = agreementCaveat(model.cells)
  const out = [`## Disagreements (${model.disagreements})`, '', ...(caveat ? [`> ${caveat}`, ''] : [])]
  if (!cells.length) return [...out, 'None: every predicted verdict matches the observed one.']
  return [
    ...out,
    ...table(
      ['Target', 'Firmware', 'Observed', 'Predicted', 'Why'],
      cells.map((c) => [md(c.target), md(c.key), verdictText(model, c), predictedText(c), whyText(c.why)]),
    ),
  ]
}

function rigDifferences(model: ReportModel): string[] {
  return [
    `## Differences between rigs (${model.rigDifferences.length})`,
    '',
    'The same firmware judged the same target differently on two rigs: an environment difference (DNS, a CDN edge, a proxy).',
    '',
    ...table(
      ['Target', 'Firmware', 'Rigs'],
      model.rigDifferences.map((d) => [
        md(d.target),
        md(d.key),
        d.rigs.map((r) => `${md(r.rig)}: ${VERDICT_MARK[r.verdict]}`).join(', '),
      ]),
    ),
  ]
}

function unsafe(model: ReportModel): string[] {
  const cells = model.cells.filter((c) => c.unsafe)
  const out = [`## 🚨 Unsafe accepts (${cells.length})`, '']
  if (!cells.length) return [...out, 'None: no module accepted a must-reject target.']
  return [
    ...out,
    'A module accepted a target that must be rejected (`expect=fail`, e.g. an expired certificate): the worst finding of this report.',
    '',
    ...table(
      ['Target', 'Firmware', 'Accepted with', 'Module lines'],
      cells.map((c) => [
        md(c.target),
        md(c.key),
        c.anchors.passed[0] ? md(certName(model.certificates, c.anchors.passed[0])) : '—',
        lineList(c.lines),
      ]),
    ),
  ]
}

function targetText(t: TargetRow): string {
  const tags = t.tags.length > 1 ? ` (${t.tags.slice(1).map(md).join(', ')})` : ''
  return `${md(t.target)}${tags}`
}

function matrixTable(model: ReportModel, byKey: Map<string, Cell>, targets: readonly TargetRow[]): string[] {
  const header = ['Target', ...model.firmware.map((f: FirmwareColumn) => md(f.key))]
  return table(
    header,
    targets.map((t) => [
      targetText(t),
      ...model.firmware.map((f) => cellText(model, byKey.get(`${t.target}\u0000${f.key}`))),
    ]),
  )
}

/** Rows grouped by first tag, groups in order of first appearance, rows in model order. */
function groups(targets: readonly TargetRow[]): Array<[string | null, TargetRow[]]> {
  const map = new Map<string | null, TargetRow[]>()
  for (const t of targets) {
    const tag = t.tags[0] ?? null
    const list = map.get(tag) ?? []
    list.push(t)
    map.set(tag, list)
  }
  return [...map]
}

function matrix(model: ReportModel, byKey: Map<string, Cell>): string[] {
  const out = [
    '## Matrix',
    '',
    `Rows are targets (grouped by first tag), columns are MODULE@FIRMWARE. ✅ pass · the preferred CA to upload; ❌ fail · failure class; ⏸ not-run · reason; ⚠️ a verdict that disagrees with \`expect=\`; ≠ a prediction that disagrees${model.diff ? `; ▼ regressed / ▲ fixed since ${md(model.diff.baseline)}` : ''}; emulated: an emulator the run started (its verdict follows the firmware profile, not a real module), unmarked: a module on a serial or TCP line, taken as real.`,
    '',
  ]
  const regular = model.targets.filter((t) => t.expect !== 'fail')
  const mustReject = model.targets.filter((t) => t.expect === 'fail')
  const grouped = groups(regular)
  for (const [tag, targets] of grouped) {
    if (grouped.length > 1 || tag !== null) out.push(`### ${tag === null ? 'Untagged' : md(tag)}`, '')
    out.push(...matrixTable(model, byKey, targets), '')
  }
  if (!regular.length) out.push('No targets.', '')
  if (mustReject.length) {
    out.push(
      '## Must-reject targets',
      '',
      'These targets must fail (`expect=fail`): ❌ fail is the expected result, 🚨 UNSAFE marks a module that accepted one.',
      '',
    )
    out.push(...matrixTable(model, byKey, mustReject), '')
  }
  return out
}

function failures(model: ReportModel): string[] {
  const failed = model.cells.filter((c) => c.verdict === 'fail')
  const notRun = model.cells.filter((c) => c.verdict === 'not-run')
  const out: string[] = []
  if (failed.length) {
    out.push('## Why cells failed', '')
    for (const c of failed) {
      const anchor = c.evidence.anchor ? ` — CA uploaded: ${md(certName(model.certificates, c.evidence.anchor))}` : ''
      out.push(`- **${md(c.target)}** on ${md(c.key)}: ${cellText(model, c)}${anchor}`)
      for (const w of c.why) out.push(`  - ${md(w)}`)
      for (const l of c.lines) out.push(`  - module: ${md(l)}`)
    }
    out.push('')
  }
  if (notRun.length) {
    out.push('## Not run', '')
    for (const c of notRun)
      out.push(
        `- **${md(c.target)}** on ${md(c.key)}: ⏸ ${c.notRun ? `${md(c.notRun.reason)}${c.notRun.detail ? `: ${md(c.notRun.detail)}` : ''}` : 'not-run'}`,
      )
  }
  return out
}

function sideText(v: Verdict | 'missing', cls: string | null): string {
  if (v === 'missing') return '— missing'
  return `${VERDICT_MARK[v]}${v === 'fail' && cls ? ` · ${md(cls)}` : ''}`
}

/**
 * A why of several parts in one table cell (a table has no list): each part a sentence of its own,
 * so two parts never read as one ("…the new chain too. intermediate …").
 */
function whyText(why: readonly string[]): string {
  return why.length ? why.map((w, i) => `${md(w)}${i < why.length - 1 && !/[.!?]$/.test(w) ? '.' : ''}`).join(' ') : '—'
}

function diffTable(title: string, entries: readonly DiffEntry[]): string[] {
  if (!entries.length) return [`### ${title} (0)`, '', 'None.', '']
  const fw = (key: string | null) => (key ? `${md(key)}: ` : '')
  return [
    `### ${title} (${entries.length})`,
    '',
    ...table(
      ['Target', 'Before', 'After', 'Why'],
      entries.map((e) => [
        md(e.target),
        `${fw(e.baselineKey)}${sideText(e.before, e.beforeClass)}`,
        `${fw(e.candidateKey)}${sideText(e.after, e.afterClass)}`,
        whyText(e.why),
      ]),
    ),
    '',
  ]
}

function diff(model: ReportModel): string[] {
  const d = model.diff!
  return [
    `## Diff: ${sideLabels(d).map(md).join(' → ')}`,
    '',
    `${d.same.length} target(s) unchanged, ${d.notComparable.length} not comparable (a side has no verdict).`,
    '',
    ...diffTable('Regressions', d.regressions),
    ...diffTable('Fixes', d.fixes),
    ...diffTable('Changed', d.changed),
    ...(d.chainChanged.length ? diffTable("Changed with the server's chain, not the firmware", d.chainChanged) : []),
    ...(d.notComparable.length ? diffTable('Not comparable', d.notComparable) : []),
  ]
}

function hashText(h: string | null): string {
  return h ? md(h.slice(0, 12)) : 'none'
}

function chainChanges(model: ReportModel): string[] {
  return [
    '## Chain changes',
    '',
    ...table(
      ['Target', 'Chain before', 'Chain after', 'Change', 'Verdicts'],
      model.chainChanges.map((c) => [
        md(c.target),
        hashText(c.before.chainHash),
        hashText(c.after.chainHash),
        md(changeText(c)),
        c.verdicts
          .map((v) => `${md(`${v.module}@${v.firmware}`)}: ${sideText(v.before, null)} → ${sideText(v.after, null)}`)
          .join('; ') || '—',
      ]),
    ),
  ]
}

/** The change in words; a renewal under the same names says which certificates it covers. */
function changeText(c: ChainChange): string {
  const renewal = c.changes.length > 0 && c.changes.every((i) => ['new-key', 'same-key', 'same-name'].includes(i.kind))
  return renewal ? `${c.summary}: ${c.changes.map((i) => `${i.role} ${i.name}`).join(', ')}` : c.summary
}

function expiring(model: ReportModel): string[] {
  // The date only, not days left: a table that changes every day by itself makes nightly diffs noise.
  return [
    `## Expiring CA certificates (within ${model.expiryDays} days)`,
    '',
    'The intermediates and roots the servers send and the CAs uploaded, for the targets that pass; server (leaf) certificates are not listed.',
    '',
    ...table(
      ['Certificate', 'Roles', 'Not after', 'Targets', 'Firmware'],
      model.expiring.map((e) => [
        md(model.certificates[e.sha256]?.name ?? e.subject),
        e.roles.map(md).join(', '),
        md(e.notAfter.slice(0, 10)),
        e.targets.map(md).join(', ') || '—',
        e.firmware.map(md).join(', ') || '—',
      ]),
    ),
  ]
}

/** Targets named per anchor in the anchor-set table; report.json has every one. */
const TARGETS_PER_ANCHOR = 50

function anchorSet(model: ReportModel, s: AnchorSet): string[] {
  const limit =
    s.limitBytes === null
      ? 'store limit unknown'
      : s.bytes <= s.limitBytes
        ? `within the ${s.limitBytes}-byte store limit`
        : `⚠️ OVER the ${s.limitBytes}-byte store limit: cannot all be stored at once`
  const search = !s.exact
    ? 'greedy (small, not proven smallest)'
    : (s.uncovered ?? []).length
      ? 'exact (exhaustive search: no set the store can hold serves more)'
      : 'exact (exhaustive search: no smaller set exists)'
  // The targets each anchor serves: every one in a docs-sized report, the first few in a fleet-sized one.
  const served = new Map<string, string[]>(s.anchors.map((sha) => [sha, []]))
  for (const p of s.perTarget) for (const sha of p.anchors) served.get(sha)?.push(p.target)
  const names = (targets: string[]) =>
    targets.length > TARGETS_PER_ANCHOR
      ? `${targets.slice(0, TARGETS_PER_ANCHOR).map(md).join(', ')} and ${targets.length - TARGETS_PER_ANCHOR} more`
      : targets.map(md).join(', ')
  const rows = s.anchors.map((sha) => [
    md(certName(model.certificates, sha)),
    md(sha.slice(0, 16)),
    names(served.get(sha) ?? []) || '—',
  ])
  const uncovered = s.uncovered ?? []
  const store = storeWords(s)
  return [
    `### ${md(`${s.module}@${s.firmware}`)}`,
    '',
    ...(store ? [`${md(store[0]!.toUpperCase() + store.slice(1))}.`, ''] : []),
    `${s.anchors.length} anchor(s), ${s.bytes} bytes, ${limit}; ${search}; covers ${s.covers.length} of ${s.covers.length + uncovered.length} passing target(s).`,
    '',
    ...(rows.length ? table(['Anchor', 'SHA-256', 'Targets'], rows) : ['No passing target: nothing to upload.']),
    '',
    ...(uncovered.length
      ? [
          `${uncovered.length} passing target(s) need another provisioning (the store cannot hold their CA beside the above):`,
          '',
          ...table(
            ['Target', 'CAs that serve it'],
            uncovered.map((u) => [md(u.target), u.anchors.map((a) => md(certName(model.certificates, a))).join(', ')]),
          ),
          '',
        ]
      : []),
  ]
}

function anchorSets(model: ReportModel): string[] {
  return [
    '## Anchor sets',
    '',
    'Per firmware, the CAs to provision: the smallest set that makes every passing target pass, when the store can hold it; otherwise what the store can hold that serves the most, and the targets that need another provisioning.',
    '',
    ...model.anchorSets.flatMap((s) => anchorSet(model, s)),
  ]
}
