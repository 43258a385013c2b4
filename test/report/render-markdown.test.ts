import { test } from 'node:test'
import assert from 'node:assert/strict'
import MarkdownIt, { type Token } from 'markdown-it'
import { md, renderMarkdown } from '../../src/report/render/index.js'
import { HOSTILE_LINES, HOSTILE_SUBJECT, hostileModel } from './render-fixture.js'

// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202e]/
/** What the report shows for them: each written out, `\x1b` for a control, `<U+202E>` for a bidi override. */
const written = (s: string) =>
  s.replace(new RegExp(CONTROL, 'g'), (c) =>
    c === '\u202e' ? '<U+202E>' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )

// A real GFM-style parser (tables, raw HTML allowed, bare URLs linked) reads the file as GitHub
// would: escaping is judged by what it renders, not by what the text contains.
const parser = new MarkdownIt({ html: true, linkify: true })

function inlineText(t: Token): string {
  return (t.children ?? [])
    .map((c) =>
      c.type === 'text' || c.type === 'code_inline' || c.type === 'html_inline'
        ? c.content
        : c.type === 'softbreak'
          ? '\n'
          : '',
    )
    .join('')
}

interface Table {
  header: string[]
  rows: string[][]
}

/** Every table as the parser sees it: cell texts, decoded. */
function tables(tokens: Token[]): Table[] {
  const out: Table[] = []
  let cur: Table | null = null
  let row: string[] | null = null
  let inHead = false
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t.type === 'table_open') cur = { header: [], rows: [] }
    else if (t.type === 'table_close') {
      out.push(cur!)
      cur = null
    } else if (t.type === 'thead_open') inHead = true
    else if (t.type === 'thead_close') inHead = false
    else if (t.type === 'tr_open') row = []
    else if (t.type === 'tr_close') {
      if (inHead) cur!.header = row!
      else cur!.rows.push(row!)
      row = null
    } else if ((t.type === 'th_open' || t.type === 'td_open') && row) row.push(inlineText(tokens[i + 1]!))
  }
  return out
}

function allInline(tokens: Token[]): Token[] {
  return tokens.flatMap((t) => (t.children ? t.children : []))
}

test('markdown: hostile certificate names, targets, firmware and module lines render as plain text', () => {
  const model = hostileModel()
  const text = renderMarkdown(model)
  const tokens = parser.parse(text, {})
  // No raw HTML and no link at all (GitHub links bare URLs, www. names and a@b.c by itself).
  assert.deepEqual(
    tokens.filter((t) => t.type === 'html_block'),
    [],
  )
  assert.deepEqual(
    allInline(tokens)
      .filter((t) => t.type === 'html_inline')
      .map((t) => t.content),
    [],
  )
  assert.deepEqual(
    allInline(tokens)
      .filter((t) => t.type === 'link_open')
      .map((t) => t.attrGet('href')),
    [],
  )
  // Code spans only where the renderer put them: its own, each word GitHub would link by itself
  // (an address, a URL, a www. name) and each word with an underscore, held as written so it reads
  // the same raw and rendered.
  assert.deepEqual(
    [
      ...new Set(
        allInline(tokens)
          .filter((t) => t.type === 'code_inline')
          .map((t) => t.content),
      ),
    ].sort(),
    [
      '&nbsp;&amp;[link](http://y',
      '=HYPERLINK("http://x',
      'SPWF04SA@1.0.0',
      'SPWF04SA@1.1.0',
      '_i_',
      'expect=',
      'expect=fail',
      'www.ebay.com:443',
    ],
  )
  assert.deepEqual(
    [
      ...new Set(
        allInline(tokens)
          .filter((t) => t.type === 'em_open')
          .map((t) => t.markup),
      ),
    ],
    [],
  )
  const html = parser.render(text)
  assert.doesNotMatch(html, /<script|<img|<b>|<i>/)
  assert.doesNotMatch(text, /<script|<img/)
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/)
})

test('markdown: every table row keeps its columns, and the hostile text reads back exactly', () => {
  const model = hostileModel()
  const text = renderMarkdown(model)
  const parsed = tables(parser.parse(text, {}))
  assert.ok(parsed.length >= 8, `tables found: ${parsed.length}`)
  for (const t of parsed)
    for (const r of t.rows)
      assert.equal(r.length, t.header.length, `row ${JSON.stringify(r)} under ${JSON.stringify(t.header)}`)
  // The source too: a row line has exactly as many pipes as its header line (none escaped away).
  const blocks = text.split(/\n(?!\|)/).filter((b) => b.startsWith('|'))
  for (const b of blocks) {
    const lines = b.split('\n').filter((l) => l.startsWith('|'))
    const pipes = (l: string) => l.split('|').length
    for (const l of lines) assert.equal(pipes(l), pipes(lines[0]!), l)
  }
  // The matrix: the column headers are the firmware keys (one of them hostile), read back as written.
  const matrix = parsed.find(
    (t) => t.header[1] === 'SPWF04SA@1.0.0' && t.rows.some((r) => r[0]?.startsWith('www.ebay.com:443')),
  )!
  assert.deepEqual(matrix.header, ['Target', 'SPWF04SA@1.0.0', 'SPWF04SA@1.1.0', 'SPWF|01<b>@3.5`x`'])
  const row = (name: string) => matrix.rows.find((r) => r[0]!.startsWith(name))!
  // Symbol and word for each verdict; the pass names the preferred CA, read back exactly.
  assert.equal(row('www.ebay.com:443')[1], '❌ fail · handshake')
  // ebay is the diff's fix on 1.1.0: its cell is marked so.
  assert.equal(row('www.ebay.com:443')[2], `✅ pass · ${HOSTILE_SUBJECT} · ≠ predicted fail · handshake · ▲ fixed`)
  assert.equal(row('www.ebay.com:443')[3], '— no data')
  assert.equal(row('evil|<script>.test:443')[0], 'evil|<script>.test:443 (*b*)')
  assert.equal(row('evil|<script>.test:443')[1], '❌ fail · cert<x> · ⚠️ expected pass')
  assert.equal(row('evil|<script>.test:443')[2], '⏸ not-run · link')
  // The why of a failure lists the module's lines, each read back exactly (controls as spaces).
  const items = text.split('\n').filter((l) => l.startsWith('  - module: '))
  const decoded = items.map((l) => inlineText(parser.parseInline(l.slice('  - module: '.length), {})[0]!))
  assert.deepEqual(decoded.slice(0, HOSTILE_LINES.length), HOSTILE_LINES.map(written))
})

test('markdown: unsafe accepts and disagreements come first; must-reject targets stand apart', () => {
  const model = hostileModel()
  const text = renderMarkdown(model)
  const at = (s: string) => {
    const i = text.indexOf(s)
    assert.ok(i >= 0, `missing ${s}`)
    return i
  }
  assert.ok(at('## Disagreements (1)') < at('## 🚨 Unsafe accepts (1)'))
  assert.ok(at('## 🚨 Unsafe accepts (1)') < at('## Matrix'))
  assert.ok(at('## Matrix') < at('## Must-reject targets'))
  const parsed = tables(parser.parse(text, {}))
  const unsafe = parsed.find((t) => t.header.includes('Accepted with'))!
  assert.deepEqual(unsafe.rows, [['expired.test:443', 'SPWF04SA@1.1.0', HOSTILE_SUBJECT, 'HTTP/1.1 200 OK']])
  const mustReject = parsed.find(
    (t) => t.rows.some((r) => r[0] === 'expired.test:443') && t.header[1] === 'SPWF04SA@1.0.0',
  )!
  assert.deepEqual(
    mustReject.rows.map((r) => r[0]),
    ['expired.test:443', 'revoked.test:443'],
  )
  assert.match(mustReject.rows[0]![2]!, /^🚨 UNSAFE ✅ pass/)
  // Must-reject rows appear in no other matrix table.
  const others = parsed.filter((t) => t !== mustReject && t.header[1] === 'SPWF04SA@1.0.0')
  assert.ok(others.length >= 3, 'one table per first tag')
  assert.deepEqual(
    others.flatMap((t) => t.rows.map((r) => r[0])),
    ['www.ebay.com:443', 'evil|<script>.test:443 (*b*)', 'azure.test:443', 'plain.test:443'],
  )
  // Grouped by first tag, in order of first appearance.
  assert.ok(at('### shop') < at('### cloud&#124;x') && at('### cloud&#124;x') < at('### Untagged'))
})

test('markdown: diff, chain changes, expiring, anchor sets and statements', () => {
  const model = hostileModel()
  const text = renderMarkdown(model)
  const parsed = tables(parser.parse(text, {}))
  const regress = parsed.find(
    (t) => t.header.join() === 'Target,Before,After,Why' && t.rows[0]?.[0] === 'revoked.test:443',
  )!
  // Each side names its firmware.
  assert.deepEqual(regress.rows[0], [
    'revoked.test:443',
    'SPWF04SA@1.0.0: ✅ pass',
    'SPWF04SA@1.1.0: ❌ fail · handshake',
    'a | regression <i>',
  ])
  assert.match(text, /### Fixes \(1\)/)
  assert.match(text, /### Changed \(0\)\n\nNone\./)
  const chain = parsed.find((t) => t.header[0] === 'Target' && t.header[1] === 'Chain before')!
  assert.deepEqual(chain.rows[0], [
    'www.ebay.com:443',
    'dddddddddddd',
    'cccccccccccc',
    `intermediate Old CA (RSA-2048) no longer served; new intermediate ${HOSTILE_SUBJECT} (RSA-2048)`,
    'SPWF04SA@1.0.0: ✅ pass → ❌ fail',
  ])
  const exp = parsed.find((t) => t.header[0] === 'Certificate')!
  assert.deepEqual(exp.rows[0], ['Inter|mediate', 'intermediate', '2026-12-10', 'www.ebay.com:443', 'SPWF04SA@1.0.0'])
  assert.match(text, /5000 bytes, ⚠️ OVER the 4096-byte store limit: cannot all be stored at once; exact/)
  assert.match(text, /1200 bytes, within the 4096-byte store limit; greedy/)
  const sets = parsed.filter((t) => t.header.join() === 'Anchor,SHA-256,Targets')
  assert.deepEqual(sets[0]!.rows, [
    [HOSTILE_SUBJECT, 'eeeeeeeeeeeeeeee', 'www.ebay.com:443'],
    ['Good Root', 'aaaaaaaaaaaaaaaa', 'azure.test:443'],
  ])
  assert.match(text, /## Statements\n\n- SPWF04SA reaches `www\.ebay\.com:443` from 1\.1\.0\n/)
})

test('markdown: stable output; generatedAt once, above the tables, and nothing else that moves by itself', () => {
  const model = hostileModel()
  const a = renderMarkdown(model)
  const b = renderMarkdown({
    ...model,
    generatedAt: '2026-11-29T02:00:00.000Z',
    expiring: model.expiring.map((e) => ({ ...e, daysLeft: e.daysLeft - 1 })),
  })
  const differing = a.split('\n').filter((l, i) => l !== b.split('\n')[i])
  assert.equal(differing.length, 1)
  assert.match(differing[0]!, /^Generated 2026-11-28T02:00:00\.000Z /)
  assert.equal(a.split('2026-11-28T02:00:00.000Z').length, 2)
  assert.ok(a.indexOf('Generated ') < a.indexOf('|'))
  for (const line of a.split('\n').filter((l) => l.startsWith('|'))) assert.doesNotMatch(line, /\d{4}-\d\d-\d\dT\d\d:/)
})

test('md(): every character Markdown gives a meaning to is inert; a word GitHub would link is a code span', () => {
  const hostile = 'a|b`c`<d>&e[f](g)*h*_i_\\j~k~#l!m$n\r\no\x1b\u202ep http://q www.r.s t@u.v (x`y@z.w), a|b@c.d'
  const escaped = md(hostile)
  // Outside the code spans, every such character is an entity.
  const outside = escaped.replace(/(`+)(?!`)[^]*?[^`]\1(?!`)/g, '').replace(/&(#\d+|lt|gt|amp);/g, '')
  assert.doesNotMatch(outside, /[|`<>[\]*_\\~#!$@]|:\/\/|www\./)
  assert.doesNotMatch(escaped, CONTROL)
  const children = parser.parseInline(escaped, {})[0]!.children!
  assert.deepEqual(
    children.map((c) => c.type),
    ['text', 'code_inline', 'text', 'code_inline', 'text', 'code_inline', 'text', 'code_inline', 'text'],
  )
  assert.deepEqual(
    children.filter((c) => c.type === 'code_inline').map((c) => c.content),
    ['http://q', 'www.r.s', 't@u.v', 'x`y@z.w'],
  )
  // Read back, the text is what was written, and a word with a `|` (no code span in a table) stays entities.
  assert.equal(children.map((c) => c.content).join(''), written(hostile))
  assert.match(escaped, /a&#124;b&#64;c\.d$/)
})

test('md(): text at the start of a list item or table cell starts no block of its own', () => {
  for (const s of ['- x', '+ y', '= z', '1. one', '2) two', '    code', '---', '> q', '# h', '***', '```js']) {
    const tokens = parser.parse(`- ${md(s)}\n\n| a |\n| --- |\n| ${md(s)} |\n`, {})
    assert.deepEqual(
      tokens
        .map((t) => t.type)
        .filter((t) => !/^(bullet_list|list_item|paragraph|inline|table|thead|tbody|tr|th|td)_?(open|close)?$/.test(t)),
      [],
      s,
    )
    const inline = tokens.filter((t) => t.type === 'inline')
    assert.equal(inline[0]!.children!.map((c) => c.content).join(''), s, s)
    assert.equal(inline[2]!.children!.map((c) => c.content).join(''), s, s)
  }
})

test('an anchor set names at most 50 targets per CA and says how many more', () => {
  const model = hostileModel()
  const set = model.anchorSets.find((s) => s.anchors.length > 0)!
  const sha = set.anchors[0]!
  const perTarget = Array.from({ length: 60 }, (_, i) => ({ target: `t${i}.example:443`, anchors: [sha] }))
  const text = renderMarkdown({ ...model, anchorSets: [{ ...set, perTarget }] })
  assert.match(text, /t49\.example:443 and 10 more/)
  assert.ok(!text.includes('t50.example:443'))
})

test('a why of several parts in one table cell reads as separate sentences, never run together', () => {
  const model = hostileModel()
  const entry = model.diff!.regressions[0]!
  entry.why = [
    "the server's chain changed between the runs (new intermediate); SPWF04SA 1.0.0 is predicted to fail the new chain too",
    'intermediate “CN=x” has a 4096-bit key.',
    'last part',
  ]
  model.diff!.notComparable = [
    {
      ...entry,
      target: 'nc.example:443',
      why: ['SPWF04SA@1.1.0: not run: budget', 'run:2026-1: not run: device-lost'],
    },
  ]
  const text = renderMarkdown(model)
  assert.ok(
    text.includes('predicted to fail the new chain too. intermediate “CN=x” has a 4096-bit key. last part |'),
    text,
  )
  assert.match(text, /`SPWF04SA@1\.1\.0`: not run: budget\. run:2026-1: not run: device-lost \|/)
})

test('md(): a word with underscores (a cipher suite) is a code span, readable raw; with a | it stays entities', () => {
  const text = md('it chose TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 for a broad client (and _em_, x_<b>y</b>).')
  assert.ok(text.includes('`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`'), text)
  assert.ok(!text.includes('&#95;ECDHE'))
  const children = parser.parseInline(text, {})[0]!.children!
  assert.deepEqual(
    children.filter((c) => c.type !== 'text' && c.type !== 'code_inline'),
    [],
    'no emphasis, no HTML',
  )
  assert.equal(
    children.map((c) => c.content).join(''),
    'it chose TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 for a broad client (and _em_, x_<b>y</b>).',
  )
  // A | inside a code span would still split a table cell: such a word keeps its entities.
  assert.equal(md('a_b|c'), 'a&#95;b&#124;c')
})
