import { agreementCaveat } from '../model/provenance.js'
import type { Cell } from '../model/types.js'
import { capped, cellLink, type HtmlContext } from './html-context.js'
import { h, MARK, visible } from './html-text.js'

function whyList(c: Cell): string {
  return c.why.length
    ? `<ul>${c.why.map((w) => `<li>${visible(w)}</li>`).join('')}</ul>`
    : '<span class="small">no reason recorded</span>'
}

function observed(c: Cell): string {
  if (c.unsafe) return `${MARK.unsafe} pass (must be refused)`
  if (c.verdict === 'pass') return `${MARK.pass} pass`
  if (c.verdict === 'fail') return `${MARK.fail} fail (${h(c.class ?? 'unclassified')})`
  return `${MARK['not-run']} not run (${h(c.notRun?.reason ?? '?')})`
}

function predicted(c: Cell): string {
  const mark = c.predicted === 'pass' ? MARK.pass : c.predicted === 'fail' ? MARK.fail : '?'
  return `${mark} ${h(c.predicted)}${c.predictedClass ? ` (${h(c.predictedClass)})` : ''}`
}

/** A must-reject target that passed: the worst finding on the page, so it comes with its why. */
export function* unsafeSection(ctx: HtmlContext): Generator<string> {
  const cells = ctx.model.cells.filter((c) => c.unsafe)
  yield '<section id="unsafe" aria-labelledby="unsafe-h"><h2 id="unsafe-h">Unsafe accepts</h2>'
  if (!cells.length) {
    yield `<p class="ok-banner">${MARK.pass} None: no must-reject target (<code>expect=fail</code>) passed.</p></section>`
    return
  }
  yield `<p class="banner">${MARK.unsafe} ${cells.length} cell(s) where the module accepted a server it must refuse.</p>`
  yield '<table><caption>Must-reject targets that passed</caption><thead><tr><th scope="col">Target</th><th scope="col">Firmware</th><th scope="col">Observed</th><th scope="col">Predicted</th><th scope="col">Why</th></tr></thead><tbody>'
  const { shown, more } = capped(ctx, cells)
  for (const c of shown) {
    yield `<tr class="unsafe"><th scope="row">${h(c.target)}</th><td class="nowrap">${h(c.key)}</td><td>${cellLink(ctx, c, observed(c))}</td><td>${predicted(c)}</td><td>${whyList(c)}</td></tr>`
  }
  yield `</tbody></table>${more}</section>`
}

/** Prediction and observation differ: the profile is wrong, or the module surprised us. */
export function* disagreementsSection(ctx: HtmlContext): Generator<string> {
  const cells = ctx.model.cells.filter((c) => c.disagree)
  yield '<section id="disagreements" aria-labelledby="disagreements-h"><h2 id="disagreements-h">Disagreements: predicted &#8800; observed</h2>'
  // On an emulated module prediction and emulator read the same profile: agreement there proves nothing.
  const caveat = agreementCaveat(ctx.model.cells)
  const note = caveat ? `<p class="note">${h(caveat)}</p>` : ''
  if (!cells.length) {
    yield `<p class="ok-banner">${MARK.pass} None: every cell with a known prediction was observed as predicted.</p>${note}</section>`
    return
  }
  yield `<p>${cells.length} cell(s) where the firmware profile predicted one thing and the module did another: the profile is wrong, or the module surprised us.</p>${note}`
  yield '<table><caption>Cells whose observation disagrees with the prediction</caption><thead><tr><th scope="col">Target</th><th scope="col">Firmware</th><th scope="col">Predicted</th><th scope="col">Observed</th><th scope="col">Why</th></tr></thead><tbody>'
  const { shown, more } = capped(ctx, cells)
  for (const c of shown) {
    yield `<tr${c.unsafe ? ' class="unsafe"' : ''}><th scope="row">${h(c.target)}</th><td class="nowrap">${h(c.key)}</td><td>${predicted(c)}</td><td>${cellLink(ctx, c, observed(c))}</td><td>${whyList(c)}</td></tr>`
  }
  yield `</tbody></table>${more}</section>`
}

/** Every failed cell with its why and the module's own lines, in the open (printed as is). */
export function* failuresSection(ctx: HtmlContext): Generator<string> {
  yield '<section id="failures" aria-labelledby="failures-h"><h2 id="failures-h">Failures</h2>'
  const { shown, more } = capped(
    ctx,
    ctx.model.cells.filter((c) => c.verdict === 'fail'),
  )
  const any = shown.length > 0
  for (const c of shown) {
    yield `<article class="failure"><h3>${MARK.fail} ${h(c.target)} on ${h(c.key)}: ${h(c.class ?? 'unclassified')}</h3>`
    yield `<p class="small">${c.expect ? `expected ${h(c.expect)}; ` : ''}predicted ${predicted(c)}; observed ${h(c.observedAt ?? 'at an unknown time')}. ${cellLink(ctx, c, 'Evidence')}</p>`
    yield `<div class="why">${whyList(c)}</div>`
    if (c.lines.length)
      yield `<pre class="lines" aria-label="the module's lines">${c.lines.map(visible).join('\n')}</pre>`
    yield '</article>'
  }
  if (!any) yield `<p>${MARK.pass} No cell failed.</p>`
  yield `${more}</section>`
}

/** Cells without a verdict, with the reason: they are not failures and must not read as such. */
export function* notRunSection(ctx: HtmlContext): Generator<string> {
  const cells = ctx.model.cells.filter((c) => c.verdict === 'not-run')
  yield '<section id="not-run" aria-labelledby="not-run-h"><h2 id="not-run-h">Not run</h2>'
  if (!cells.length) {
    yield '<p>Every cell has a verdict.</p></section>'
    return
  }
  yield '<table><caption>Cells without a verdict, and why</caption><thead><tr><th scope="col">Target</th><th scope="col">Firmware</th><th scope="col">Reason</th><th scope="col">Detail</th><th scope="col">Last lines</th></tr></thead><tbody>'
  const { shown, more } = capped(ctx, cells)
  for (const c of shown) {
    yield `<tr><th scope="row">${h(c.target)}</th><td class="nowrap">${h(c.key)}</td><td>${cellLink(ctx, c, `${MARK['not-run']} ${h(c.notRun?.reason ?? 'unknown')}`)}</td><td>${visible(c.notRun?.detail ?? '')}</td>`
    yield `<td>${c.lines.length ? `<pre class="lines">${c.lines.slice(-3).map(visible).join('\n')}</pre>` : ''}</td></tr>`
  }
  yield `</tbody></table>${more}</section>`
}

/** The same firmware judged a target differently on two rigs: the environment differs, not the module. */
export function* rigDifferencesSection(ctx: HtmlContext): Generator<string> {
  const list = ctx.model.rigDifferences
  if (!list.length) return
  yield '<section id="rig-differences" aria-labelledby="rig-differences-h"><h2 id="rig-differences-h">Differences between rigs</h2>'
  yield '<p>The same firmware judged these targets differently on two rigs: an environment difference (DNS, a CDN edge, a proxy).</p>'
  yield '<table><caption>Verdicts per rig</caption><thead><tr><th scope="col">Target</th><th scope="col">Firmware</th><th scope="col">Rigs</th></tr></thead><tbody>'
  for (const d of list)
    yield `<tr><th scope="row">${h(d.target)}</th><td class="nowrap">${h(d.key)}</td><td>${d.rigs.map((r) => `${h(r.rig)}: ${MARK[r.verdict]} ${h(r.verdict)}`).join('<br>')}</td></tr>`
  yield '</tbody></table></section>'
}
