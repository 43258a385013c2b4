import { provenanceShort, provenanceText } from '../model/provenance.js'
import type { Cell } from '../model/types.js'
import { certLink, isNotable, type HtmlContext } from './html-context.js'
import { h, MARK, verdictWord, visible } from './html-text.js'

/**
 * The evidence behind every cell, one closed <details> each. The matrix links to `c<index>`, the
 * id of the content inside: a browser opens a closed <details> when a link lands inside it (on
 * the <details> itself it would only scroll there), JavaScript or not. Transcripts are read from the evidence
 * source one cell at a time, so at most one is in memory.
 */
export function* evidenceSection(ctx: HtmlContext): Generator<string> {
  yield '<section id="evidence" aria-labelledby="evidence-h"><h2 id="evidence-h">Evidence, cell by cell</h2>'
  if (!ctx.allTranscripts) {
    yield `<p class="note">This report has ${ctx.model.cells.length} cells: to keep the page openable, evidence is shown only for cells that failed, were not run, disagree with the prediction, differ from <code>expect=</code> or are unsafe (the first ${ctx.withEvidence?.size ?? 0}). Every cell's evidence, transcript included, is in <code>report.json</code>.</p>`
  }
  let target: string | null = null
  for (const [i, c] of ctx.model.cells.entries()) {
    if (ctx.withEvidence && !ctx.withEvidence.has(i)) continue
    if (c.target !== target) {
      target = c.target
      yield `<h3>${h(c.target)}</h3>`
    }
    yield* cellEvidence(ctx, c, i)
  }
  yield '</section>'
}

function summary(ctx: HtmlContext, c: Cell): string {
  let what: string
  if (c.unsafe) what = `${MARK.unsafe} UNSAFE: passed a must-reject target`
  else if (c.verdict === 'pass') what = `${MARK.pass} pass`
  else if (c.verdict === 'fail') what = `${MARK.fail} fail: ${h(c.class ?? 'unclassified')}`
  else what = `${MARK['not-run']} not run: ${h(c.notRun?.reason ?? 'no reason recorded')}`
  const anchor = c.anchors.passed[0]
    ? ` with ${h(ctx.model.certificates[c.anchors.passed[0]]?.name ?? c.anchors.passed[0])}`
    : ''
  return `${h(c.key)}: ${what}${c.verdict === 'pass' ? anchor : ''}; predicted ${h(c.predicted)}${c.disagree ? ' &#8800;' : ''}; ${h(provenanceShort(c.evidence.provenance))}`
}

function* cellEvidence(ctx: HtmlContext, c: Cell, i: number): Generator<string> {
  const e = c.evidence
  yield `<details class="evidence"><summary>${summary(ctx, c)}</summary><div id="c${i}">`
  if (!ctx.allTranscripts && !isNotable(c)) {
    // A large report's ordinary pass: one paragraph, every fact still there but the transcript.
    yield `<p class="small">Observed ${h(c.observedAt ?? 'at an unknown time')}, run ${h(c.runId)}; attempt #${h(e.attemptId)} on ${h(e.device)}${e.rig ? ` (rig ${h(e.rig)})` : ''}, recorded ${h(e.recordedAt)}; ${h(provenanceText(e.provenance, e.device))}; `
    yield `CA uploaded: ${e.anchor ? certLink(ctx, e.anchor) : 'none'}${e.upload ? ` with <code>${visible(e.upload.command)}</code>, key id <code>${h(e.upload.ski ?? 'none')}</code>` : ''}; `
    yield `served chain: ${e.chain.length ? e.chain.map((sha) => certLink(ctx, sha)).join(' &larr; ') : 'unknown'}. Transcript: in <code>report.json</code>.</p></div></details>`
    return
  }
  yield '<dl class="kv">'
  yield `<dt>Observed</dt><dd>${h(verdictWord(c.verdict))}${c.class ? ` (${h(c.class)})` : ''} at ${h(c.observedAt ?? 'unknown time')}, run ${h(c.runId)}</dd>`
  yield `<dt>Predicted</dt><dd>${h(c.predicted)}${c.predictedClass ? ` (${h(c.predictedClass)})` : ''}</dd>`
  if (c.expect) yield `<dt>Expected</dt><dd>${h(c.expect)}</dd>`
  if (c.notRun)
    yield `<dt>Not run</dt><dd>${h(c.notRun.reason)}${c.notRun.detail ? `: ${visible(c.notRun.detail)}` : ''}</dd>`
  yield `<dt>Attempt</dt><dd>#${h(e.attemptId)} on ${h(e.device)}${e.rig ? `, rig ${h(e.rig)}` : ''}, recorded ${h(e.recordedAt)}</dd>`
  yield* provenance(ctx, c)
  if (e.protocol || e.cipher) yield `<dt>TLS</dt><dd>${h(e.protocol ?? '?')} ${h(e.cipher ?? '')}</dd>`
  yield `<dt>CA uploaded</dt><dd>${e.anchor ? certLink(ctx, e.anchor) : 'none'}</dd>`
  if (e.upload) {
    yield `<dt>Upload command</dt><dd><code>${visible(e.upload.command)}</code></dd>`
    yield `<dt>Key id</dt><dd><code>${h(e.upload.ski ?? 'none')}</code></dd>`
  }
  if (c.anchors.passed.length > 1 || c.anchors.failed.length) {
    yield `<dt>Anchors</dt><dd>passed: ${c.anchors.passed.map((a) => certLink(ctx, a)).join(', ') || 'none'}; failed: ${c.anchors.failed.map((a) => certLink(ctx, a)).join(', ') || 'none'}</dd>`
  }
  yield '</dl>'
  if (c.why.length) {
    yield `<p>Why:</p><ul>${c.why.map((w) => `<li>${visible(w)}</li>`).join('')}</ul>`
  }
  if (c.lines.length) yield `<p>The module said:</p><pre class="lines">${c.lines.map(visible).join('\n')}</pre>`
  if (e.upload?.lines.length)
    yield `<p>The module's answer to the upload:</p><pre class="lines">${e.upload.lines.map(visible).join('\n')}</pre>`
  yield* chain(ctx, c)
  yield* transcript(ctx, e.attemptId)
  yield '</div></details>'
}

/** The device, emulated or on a line; for an emulated one, the profile's guesses its verdict rests on. */
function* provenance(ctx: HtmlContext, c: Cell): Generator<string> {
  const p = c.evidence.provenance
  yield `<dt>Device</dt><dd class="prov${p?.kind === 'emu' ? ' emu' : ''}">${h(provenanceText(p, c.evidence.device, ''))}</dd>`
  if (p?.kind !== 'emu' || c.verdict === 'not-run') return
  const notes = p.guesses.map((i) => ctx.model.guessNotes?.[i]).filter((n): n is string => n !== undefined)
  yield `<dt>Profile guesses</dt><dd>${
    notes.length
      ? `The verdict rests on these notes of the profile marked GUESS (no source confirms them for the real module):<ul>${notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>`
      : 'No note of the profile marked GUESS names the fields this verdict rests on.'
  }</dd>`
}

function* chain(ctx: HtmlContext, c: Cell): Generator<string> {
  const served = c.evidence.chain
  if (!served.length) {
    yield '<p class="small">Served chain: unknown.</p>'
    return
  }
  yield `<table><caption>Served chain, as sent${c.evidence.chainHash ? ` (chain ${h(c.evidence.chainHash.slice(0, 16))}&hellip;)` : ''}</caption>`
  yield '<thead><tr><th scope="col">#</th><th scope="col">Subject</th><th scope="col">Key</th><th scope="col">Bytes</th><th scope="col">sha256</th></tr></thead><tbody>'
  for (const [n, sha] of served.entries()) {
    const cert = ctx.model.certificates[sha]
    // The subject once, linked to the certificate's entry (its short name is the same subject reordered).
    yield `<tr><td>${n}</td><td>${certLink(ctx, sha, true)}</td><td>${h(cert?.key)}</td><td>${h(cert?.bytes)}</td><td class="mono">${h(sha)}</td></tr>`
  }
  yield '</tbody></table>'
}

const DIR = { tx: '\u2192 tx', rx: '\u2190 rx', note: '\u00b7 note' } as const

function* transcript(ctx: HtmlContext, attemptId: number): Generator<string> {
  const entries = ctx.evidence.transcript(attemptId)
  if (!entries.length) {
    yield '<p class="small">No transcript stored for this attempt.</p>'
    return
  }
  yield `<details><summary>AT transcript (${entries.length} chunks; control bytes shown escaped: <code>\\r\\n</code> is CR LF)</summary><pre class="transcript">`
  for (const x of entries) {
    const cls = x.dir === 'note' ? 'tnote' : x.dir
    const text = visible(x.data)
    yield `<span class="${cls}">${h(x.t.toFixed(1))} ms ${DIR[x.dir] ?? h(x.dir)} ${text}</span>${text.endsWith('\n') ? '' : '\n'}`
  }
  yield '</pre></details>'
}
