import { test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate, createHash } from 'node:crypto'
import { rootCertificates } from 'node:tls'
import MarkdownIt, { type Token } from 'markdown-it'
import { pemBlocks } from '../../src/chain/pem.js'
import { renderDocs, renderSummary } from '../../src/report/render/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { HOSTILE_LINES, HOSTILE_SUBJECT, SHA_EVIL, SHA_GOOD, cert, hostileModel } from './render-fixture.js'

/** Two real CAs (the DER the docs page turns into PEM), one under a long name that must not be cut. */
function realCas() {
  const [a, b] = [rootCertificates[0]!, rootCertificates[1]!].map((pem) => {
    const der = pemBlocks(pem)[0]!
    return { der, sha: createHash('sha256').update(der).digest('hex') }
  })
  return { a: a!, b: b! }
}

const LONG =
  'C=US, O=VeriSign, Inc., OU=VeriSign Trust Network, CN=VeriSign Class 3 Public Primary Certification Authority - G5 (a long test name)'

/** The hostile fixture with its two CAs swapped for real ones, an emulated reachable cell, a CA without bytes. */
function docsModel(): { model: ReportModel; der: Map<string, Uint8Array> } {
  const { a, b } = realCas()
  const swap = (sha: string) => (sha === SHA_EVIL ? a.sha : sha === SHA_GOOD ? b.sha : sha)
  const model = hostileModel()
  for (const c of model.cells) {
    c.anchors = { passed: c.anchors.passed.map(swap), failed: c.anchors.failed.map(swap) }
    if (c.evidence.anchor) c.evidence.anchor = swap(c.evidence.anchor)
  }
  for (const s of model.anchorSets) {
    s.anchors = s.anchors.map(swap)
    s.perTarget = s.perTarget.map((p) => ({ ...p, anchors: p.anchors.map(swap) }))
  }
  model.certificates[a.sha] = { ...cert(a.sha, HOSTILE_SUBJECT, HOSTILE_SUBJECT), sha256: a.sha }
  model.certificates[b.sha] = { ...cert(b.sha, LONG, 'cut name'), sha256: b.sha }
  const azure = model.cells.find((c) => c.target === 'azure.test:443')!
  azure.evidence.provenance = { url: 'emu:spwf04sa-1.1.0', kind: 'emu', profile: 'spwf04sa-1.1.0', guesses: [] }
  return { model, der: new Map([[a.sha, a.der]]) }
}

const parser = new MarkdownIt({ html: true, linkify: true })
const inline = (tokens: Token[]) => tokens.flatMap((t) => t.children ?? [])

test('docs export: the matrix, full CA names, SHA-256 and a PEM that parses to that SHA-256; no QA section', () => {
  const { model, der } = docsModel()
  const { a, b } = realCas()
  // One CA's bytes are stored, the other's are not: its PEM is left out, and the page says so.
  const text = renderDocs(model, (sha) => der.get(sha) ?? null)
  assert.match(text, /^## Compatibility matrix$/m)
  assert.match(text, /\| Server \| SPWF04SA 1\.0\.0 \| SPWF04SA 1\.1\.0 \| SPWF&#124;01&lt;b&gt; 3\.5&#96;x&#96; \|/)
  assert.match(text, /\| `www\.ebay\.com` \| ❌ fail · handshake \| ✅ pass · /)
  assert.match(text, /azure\.test \| — no data \| ✅ pass · .* · emulated \|/)
  assert.match(text, /> \*\*Note:\*\* 1 of \d+ results come from emulated modules/)
  // Full CA names: the long one whole, not cut to fit a cell.
  assert.ok(
    text.includes(
      'CN=VeriSign Class 3 Public Primary Certification Authority - G5 (a long test name), OU=VeriSign Trust Network',
    ),
  )
  assert.ok(!text.includes('cut name'))
  // Each CA: its SHA-256, and the PEM, which parses to exactly that certificate.
  const blocks = [...text.matchAll(/- SHA-256: `([0-9a-f]{64})`\n\n```pem\n([\s\S]*?)\n```/g)]
  assert.equal(blocks.length, 1)
  const [, sha, pem] = blocks[0]!
  assert.equal(sha, a.sha)
  const x = new X509Certificate(`${pem}\n`)
  assert.equal(x.fingerprint256.replace(/:/g, '').toLowerCase(), sha)
  assert.match(text, new RegExp(`- SHA-256: \`${b.sha}\`\n\nThe certificate itself is not in the database: no PEM\\.`))
  // None of the QA sections, no module lines, no must-reject targets.
  for (const qa of [
    'Disagreement',
    'Diff',
    'Unsafe',
    'Why cells failed',
    'Not run',
    'Chain changes',
    'Expiring',
    'transcript',
  ])
    assert.ok(!text.includes(qa), qa)
  for (const line of HOSTILE_LINES) assert.ok(!text.includes(line))
  assert.ok(!text.includes('expired.test'), 'a must-reject target is not in a published matrix')
  assert.match(text, /2 must-reject test target\(s\) \(expect=fail\) are left out of this page\./)
  // Attacker text never becomes a link, HTML or emphasis.
  const tokens = parser.parse(text, {})
  assert.deepEqual(
    inline(tokens).filter(
      (t) => ['link_open', 'html_inline', 'em_open', 'strong_open'].includes(t.type) && t.markup !== '**',
    ),
    [],
  )
  assert.deepEqual(
    tokens.filter((t) => t.type === 'html_block'),
    [],
  )
})

test('docs export: every passing server of a firmware gets its CA, also those a one-CA store cannot serve beside the set', () => {
  const { model, der } = docsModel()
  const { a, b } = realCas()
  // SPWF04SA 1.1.0 holds one CA: the set serves `www.ebay.com`, azure passes only with the other CA.
  const set = model.anchorSets.find((s) => s.firmware === '1.1.0')!
  const passing = model.cells.filter((c) => c.key === 'SPWF04SA@1.1.0' && c.verdict === 'pass' && c.expect !== 'fail')
  assert.ok(passing.length >= 2)
  set.anchors = [a.sha]
  set.store = { caSlots: 1, caBundle: false, maxCaBytes: 4096 }
  set.perTarget = passing.map((c) => ({ target: c.target, anchors: [c.target === 'azure.test:443' ? b.sha : a.sha] }))
  set.covers = passing.filter((c) => c.target !== 'azure.test:443').map((c) => c.target)
  set.uncovered = [{ target: 'azure.test:443', anchors: [b.sha] }]
  for (const c of passing) c.anchors.passed = [c.target === 'azure.test:443' ? b.sha : a.sha]
  const text = renderDocs(model, (sha) => der.get(sha) ?? null)
  const section = text.slice(text.indexOf('### SPWF04SA 1.1.0\n'), text.indexOf('### SPWF04SA 1.0.0\n'))
  assert.ok(section.length > 0, text)
  // Every passing server of the firmware is named in its section, on a row with a CA's SHA-256.
  for (const c of passing) {
    const rowOf = section.split('\n').find((l) => l.startsWith('|') && l.includes(c.host))
    assert.ok(rowOf && /`[0-9a-f]{64}`/.test(rowOf), `${c.target} has a CA in:\n${section}`)
  }
  assert.match(
    section,
    /1 more passing server\(s\) need another CA, uploaded instead of the one\(s\) above: the store holds one CA at a time/,
  )
  assert.match(section, new RegExp(`\\| azure\\.test:443 \\| .* \\| \`${b.sha}\` \\|`))
  // That CA is in the certificates section too.
  assert.match(text, new RegExp(`- SHA-256: \`${b.sha}\``))
})

test('docs export: stored bytes that do not hash to the listed SHA-256 are not given as its PEM', () => {
  const { model, der } = docsModel()
  const { a, b } = realCas()
  // A hostile merged database: the row under a's hash holds b's certificate.
  const text = renderDocs(model, (sha) => (sha === a.sha ? b.der : (der.get(sha) ?? null)))
  assert.equal(pemBlocks(text).length, 0)
  assert.match(text, /The stored bytes do not hash to this SHA-256: no PEM is given for it\./)
})

test('summary.txt: counts per firmware, the regressions named with their firmware, the worst findings first', () => {
  const model = hostileModel()
  model.targets[0] = { ...model.targets[0]!, target: 'www.ebay.com:443\u202e' }
  const text = renderSummary(model)
  const lines = text.trimEnd().split('\n')
  assert.ok(lines.length <= 12, text)
  assert.match(
    lines[0]!,
    /^Report <script>x<\/script> \| t: 6 target\(s\) x 3 firmware, 10 cell\(s\), generated 2026-11-28T02:00:00\.000Z$/,
  )
  assert.equal(
    lines[1],
    '  SPWF04SA@1.0.0: 1 pass, 3 fail, 0 not run, 2 no data (1 emulated: verdicts follow the profile)',
  )
  assert.equal(
    lines[2],
    '  SPWF04SA@1.1.0: 3 pass, 1 fail, 1 not run, 1 no data (1 emulated: verdicts follow the profile)',
  )
  assert.match(
    text,
    /^Diff SPWF04SA@1\.0\.0 -> SPWF04SA@1\.1\.0: 2 regression\(s\), 1 fix\(es\), 0 changed, 1 same, 1 not comparable$/m,
  )
  assert.match(
    text,
    /^Worst findings:\n {2}- UNSAFE: 1 must-reject target\(s\) accepted: expired\.test:443 on SPWF04SA@1\.1\.0$/m,
  )
  assert.match(
    text,
    /- 2 regression\(s\): revoked\.test:443 pass -> fail \(handshake\), expired\.test:443 fail \(expired\) -> pass/,
  )
  assert.match(text, /- 1 cell\(s\) where the profile's prediction and the module disagree/)
  // No certificate or module text; a control character in a target is written out.
  assert.ok(!text.includes('HYPERLINK') && !text.includes('Certificate Error'))
  assert.doesNotMatch(text, /\u202e/)
  const clean = renderSummary({
    ...model,
    cells: model.cells.filter((c) => !c.unsafe && !c.mismatch),
    diff: null,
    disagreements: 0,
  })
  // Without a diff, regressions were not judged: the summary says so and claims none.
  assert.match(clean, /^Regressions not judged: the report compares no baseline with a candidate\.$/m)
  assert.match(clean, /^No unsafe accept, expect= mismatch or disagreement\.$/m)
  assert.match(
    renderSummary({ ...model, cells: [], diff: { ...model.diff!, regressions: [] }, disagreements: 0 }),
    /^No unsafe accept, regression, expect= mismatch or disagreement\.$/m,
  )
})
