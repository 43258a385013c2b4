import { sideLabels } from '../model/diff.js'
import type { ChainChangeItem, DiffEntry, Verdict } from '../model/types.js'
import { capped, certLink, type HtmlContext } from './html-context.js'
import { h, MARK, shortHash, verdictWord, visible } from './html-text.js'
import { storeWords } from './text.js'

function verdictText(v: Verdict | 'missing', cls: string | null): string {
  if (v === 'missing') return `${MARK.none} no data`
  const mark = v === 'pass' ? MARK.pass : v === 'fail' ? MARK.fail : MARK['not-run']
  return `<span class="${v}">${mark} ${h(verdictWord(v))}${cls ? ` (${h(cls)})` : ''}</span>`
}

function* diffTable(title: string, mark: string, entries: DiffEntry[]): Generator<string> {
  yield `<h3>${mark} ${h(title)} (${entries.length})</h3>`
  if (!entries.length) return
  yield `<table><caption>${h(title)}</caption><thead><tr><th scope="col">Target</th><th scope="col">Before</th><th scope="col">After</th><th scope="col">Why</th></tr></thead><tbody>`
  // Each side names its firmware: a diff row is never a verdict without the firmware it is about.
  const fw = (key: string | null) => (key ? `<span class="small">${h(key)}</span>` : '')
  for (const d of entries) {
    yield `<tr><th scope="row">${h(d.target)}</th><td>${fw(d.baselineKey)}${verdictText(d.before, d.beforeClass)}</td><td>${fw(d.candidateKey)}${verdictText(d.after, d.afterClass)}</td><td>${d.why.length ? `<ul>${d.why.map((w) => `<li>${visible(w)}</li>`).join('')}</ul>` : ''}</td></tr>`
  }
  yield '</tbody></table>'
}

export function* diffSection(ctx: HtmlContext): Generator<string> {
  const d = ctx.model.diff
  if (!d) return
  yield `<section id="diff" aria-labelledby="diff-h"><h2 id="diff-h">Diff: ${sideLabels(d).map(h).join(' &rarr; ')}</h2>`
  yield* diffTable('Regressions', MARK.fail, d.regressions)
  yield* diffTable('Fixes', MARK.pass, d.fixes)
  yield* diffTable('Changed', '~', d.changed)
  if (d.chainChanged.length)
    yield* diffTable("Changed with the server's chain, not the firmware", '&#8644;', d.chainChanged)
  yield* diffTable('Not comparable', MARK['not-run'], d.notComparable)
  yield `<details><summary>Same verdict, class and lines: ${d.same.length} target(s)</summary><ul>${d.same.map((t) => `<li>${h(t)}</li>`).join('')}</ul></details>`
  yield '</section>'
}

export function* chainChangesSection(ctx: HtmlContext): Generator<string> {
  const changes = ctx.model.chainChanges
  yield '<section id="chain-changes" aria-labelledby="chain-changes-h"><h2 id="chain-changes-h">Chain changes</h2>'
  if (!changes.length) yield '<p>No served chain changed between observations.</p>'
  for (const c of changes) {
    yield `<article><h3>${h(c.target)}</h3><dl class="kv">`
    yield `<dt>Before</dt><dd>chain <code>${h(shortHash(c.before.chainHash))}</code> at ${h(c.before.observedAt)}${c.before.runId ? `, run ${h(c.before.runId)}` : ''}</dd>`
    yield `<dt>After</dt><dd>chain <code>${h(shortHash(c.after.chainHash))}</code> at ${h(c.after.observedAt)}${c.after.runId ? `, run ${h(c.after.runId)}` : ''}</dd>`
    // In words, each certificate paired by name: a re-issue is not the same names added and removed.
    yield `<dt>Change</dt><dd>${visible(c.summary)}</dd>`
    if (c.changes.length)
      yield `<dt>Certificates</dt><dd><ul>${c.changes.map((i) => `<li>${chainChangeItem(ctx, i)}</li>`).join('')}</ul></dd>`
    yield '</dl>'
    if (c.verdicts.length) {
      yield '<table><caption>Verdicts before and after</caption><thead><tr><th scope="col">Firmware</th><th scope="col">Before</th><th scope="col">After</th></tr></thead><tbody>'
      for (const v of c.verdicts)
        yield `<tr><th scope="row">${h(v.module)} ${h(v.firmware)}</th><td>${verdictText(v.before, null)}</td><td>${verdictText(v.after, null)}</td></tr>`
      yield '</tbody></table>'
    }
    yield '</article>'
  }
  yield '</section>'
}

function chainChangeItem(ctx: HtmlContext, i: ChainChangeItem): string {
  const link = (sha: string | null) => (sha ? certLink(ctx, sha) : '')
  const certs =
    i.before && i.after && i.before !== i.after
      ? `${link(i.before)} &rarr; ${link(i.after)}`
      : i.after
        ? `${i.kind === 'added' ? '+ ' : ''}${link(i.after)}`
        : `&minus; ${link(i.before)}`
  return `${visible(i.text)}<br><span class="small">${certs}</span>`
}

export function* expiringSection(ctx: HtmlContext): Generator<string> {
  const list = ctx.model.expiring
  yield `<section id="expiring" aria-labelledby="expiring-h"><h2 id="expiring-h">CA certificates expiring within ${h(ctx.model.expiryDays)} days</h2>`
  yield '<p class="small">The intermediates and roots the servers send and the CAs uploaded, for the targets that pass; server (leaf) certificates are not listed. Each certificate once, with all its roles.</p>'
  if (!list.length) {
    yield '<p>None.</p></section>'
    return
  }
  yield '<table><caption>Expiring CA certificates the passing targets rely on</caption><thead><tr><th scope="col">Certificate</th><th scope="col">Roles</th><th scope="col">Not after</th><th scope="col">Days left</th><th scope="col">Targets</th><th scope="col">Firmware</th></tr></thead><tbody>'
  for (const x of list) {
    const left =
      x.daysLeft < 0
        ? `<span class="fail">${MARK.unsafe} expired ${h(-x.daysLeft)} day(s) ago</span>`
        : `${MARK.unsafe} ${h(x.daysLeft)}`
    yield `<tr><th scope="row">${certLink(ctx, x.sha256)}<span class="small">${h(x.subject)}</span></th><td>${x.roles.map(h).join(', ')}</td><td>${h(x.notAfter)}</td><td>${left}</td><td>${x.targets.map(h).join('<br>')}</td><td>${x.firmware.map(h).join('<br>')}</td></tr>`
  }
  yield '</tbody></table></section>'
}

export function* anchorSetsSection(ctx: HtmlContext): Generator<string> {
  const sets = ctx.model.anchorSets
  yield '<section id="anchor-sets" aria-labelledby="anchor-sets-h"><h2 id="anchor-sets-h">Anchor sets: the CAs to upload</h2>'
  if (!sets.length) yield '<p>No firmware has a passing target.</p>'
  for (const s of sets) {
    const over = s.limitBytes !== null && s.bytes > s.limitBytes
    const uncovered = s.uncovered ?? []
    const store = storeWords(s)
    yield `<article><h3>${h(s.module)} ${h(s.firmware)}</h3>${store ? `<p>${h(store[0]!.toUpperCase() + store.slice(1))}.</p>` : ''}<p>${s.anchors.length} CA(s), ${h(s.bytes)} bytes${s.limitBytes !== null ? ` of ${h(s.limitBytes)}` : ''}`
    yield `${over ? ` <strong class="fail">${MARK.unsafe} over the store limit: they cannot all be stored at once</strong>` : ''}; serve ${s.covers.length} of ${s.covers.length + uncovered.length} passing target(s); ${s.exact ? (uncovered.length ? 'the most the store can serve at once (exhaustive search)' : 'smallest set (exhaustive search)') : 'small set (greedy search, may not be the smallest)'}.</p>`
    yield `<ol>${s.anchors.map((a) => `<li>${certLink(ctx, a)}</li>`).join('')}</ol>`
    if (uncovered.length) {
      yield `<p><strong>${uncovered.length} passing target(s) need another provisioning</strong>: the store cannot hold their CA beside the one(s) above.</p>`
      yield '<table><caption>Targets that need another CA provisioned</caption><thead><tr><th scope="col">Target</th><th scope="col">CAs that serve it</th></tr></thead><tbody>'
      const { shown, more } = capped(ctx, uncovered)
      for (const p of shown)
        yield `<tr><th scope="row">${h(p.target)}</th><td>${p.anchors.map((a) => certLink(ctx, a)).join(', ')}</td></tr>`
      yield `</tbody></table>${more}`
    }
    yield `<details><summary>Per target (preferred first)</summary><table><caption>CA to upload per target</caption><thead><tr><th scope="col">Target</th><th scope="col">CAs</th></tr></thead><tbody>`
    const { shown, more } = capped(ctx, s.perTarget)
    for (const p of shown)
      yield `<tr><th scope="row">${h(p.target)}</th><td>${p.anchors.map((a) => certLink(ctx, a)).join(', ')}</td></tr>`
    yield `</tbody></table>${more}</details></article>`
  }
  yield '</section>'
}

export function* statementsSection(ctx: HtmlContext): Generator<string> {
  yield '<section id="statements" aria-labelledby="statements-h"><h2 id="statements-h">Statements</h2>'
  if (!ctx.model.statements.length) yield '<p>None.</p>'
  else yield `<ul>${ctx.model.statements.map((s) => `<li>${visible(s.text)}</li>`).join('')}</ul>`
  yield '</section>'
}

export function* certificatesSection(ctx: HtmlContext): Generator<string> {
  yield '<section id="certificates" aria-labelledby="certificates-h"><h2 id="certificates-h">Certificates</h2>'
  yield '<table><caption>Every certificate the report refers to</caption><thead><tr><th scope="col">Name</th><th scope="col">Subject / issuer</th><th scope="col">Key</th><th scope="col">Bytes</th><th scope="col">Valid</th><th scope="col">sha256</th></tr></thead><tbody>'
  for (const [sha, c] of Object.entries(ctx.model.certificates)) {
    yield `<tr id="k${ctx.certAt.get(sha)}"><th scope="row">${h(c.name)}${c.selfSigned ? '<span class="small">self-signed</span>' : ''}</th>`
    yield `<td><span class="small">subject</span>${h(c.subject)}<span class="small">issuer</span>${h(c.issuer)}</td><td>${h(c.key)}</td><td>${h(c.bytes)}</td><td>${h(c.notBefore)} &ndash; ${h(c.notAfter)}</td><td class="mono">${h(sha)}</td></tr>`
  }
  yield '</tbody></table></section>'
}
