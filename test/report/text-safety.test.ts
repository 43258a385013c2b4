import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { parse } from 'csv-parse/sync'
import { jsonSafe, termSafe } from '../../src/core/sanitize.js'
import { failuresText } from '../../src/report/index.js'
import { htmlPieces } from '../../src/report/render/html.js'
import { renderMarkdown, writeAttemptsCsv, writeJunit, writeReportJson } from '../../src/report/render/index.js'
import type { CsvAttempt, CSV_COLUMNS } from '../../src/report/render/index.js'
import type { AttemptRow } from '../../src/store/index.js'
import { SHA_EVIL, hostileModel, transcripts } from './render-fixture.js'

// A subject a hostile CA can issue: the override makes `O=<U+202E>LIAM` display as "MAIL", the
// zero-width and bidi marks hide or reorder text, ESC and BEL retitle a terminal a `cat` shows it on.
const BIDI = '\u202e\u200b\ufeff\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069'
const SUBJECT = `O=\u202eLIAM, CN=\u200bpay\ufeffpal ${BIDI}`
const LINE = 'AT-S.Http Server Status Code:200\x1b]0;pwned\x07\x1b[2J\x9b31m'
// eslint-disable-next-line no-control-regex -- the characters looked for are the point
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/

function hostile() {
  const model = hostileModel()
  const c = model.certificates[SHA_EVIL]!
  model.certificates[SHA_EVIL] = { ...c, subject: SUBJECT, name: SUBJECT, issuer: SUBJECT }
  for (const cell of model.cells) {
    if (cell.verdict === 'fail') cell.lines = [LINE]
    cell.why = [`leaf ${SUBJECT} ${LINE}`]
  }
  return model
}

async function collect(write: (out: PassThrough) => Promise<unknown>): Promise<string> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  await write(out)
  out.end()
  return Buffer.concat(chunks).toString('utf8')
}

test('terminal: bidi overrides, zero-width characters, ESC and BEL are written out, never sent raw', () => {
  assert.equal(termSafe('O=\u202eLIAM'), 'O=<U+202E>LIAM')
  assert.equal(
    termSafe(BIDI),
    '<U+202E><U+200B><U+FEFF><U+061C><U+200E><U+200F><U+202A><U+202B><U+202C><U+202D><U+2066><U+2067><U+2068><U+2069>',
  )
  assert.equal(termSafe('a\x1b]0;x\x07b\x9b'), 'a\\x1b]0;x\\x07b\\x9b')
  // What `run` prints after a survey: the failures with the anchor's subject and the module's lines.
  const row: AttemptRow = {
    id: 1,
    runId: 'r',
    device: 'd',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    profile: 'p',
    target: 'x.test:443',
    host: 'x.test',
    port: 443,
    path: '/',
    anchor: 'a',
    anchorSubject: SUBJECT,
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'fail',
    class: 'untrusted',
    reason: null,
    upload: null,
    lines: [LINE],
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 1,
    expect: null,
    observationId: null,
    recordedAt: '',
    note: null,
    probe: null,
  }
  const text = failuresText([row])
  assert.doesNotMatch(text, RAW)
  assert.match(text, /O=<U\+202E>LIAM/)
  assert.match(text, /<U\+200B>pay<U\+FEFF>pal/)
  assert.match(text, /\\x1b\]0;pwned\\x07/)
})

test('index.html: bidi and zero-width characters are shown as <U+…>, controls as \\x…, nothing raw', () => {
  const model = hostile()
  const html = [...htmlPieces(model, transcripts(model))].join('')
  assert.doesNotMatch(html, RAW)
  assert.ok(html.includes('O=&lt;U+202E&gt;LIAM'), 'the override is shown where the name is')
  assert.ok(html.includes('&lt;U+200B&gt;pay&lt;U+FEFF&gt;pal'))
  assert.match(html, /Status Code:200<span class="ctl">\\x1b<\/span>\]0;pwned<span class="ctl">\\x07\\x1b<\/span>/)
})

test('attempts.csv: ESC, BEL, bidi and zero-width characters are written out in every column', async () => {
  const attempt: CsvAttempt = {
    runId: 'run-1',
    id: 7,
    device: 'dev\u202e',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    target: 'x.test:443',
    host: 'x.test',
    port: 443,
    path: '/',
    anchor: SHA_EVIL,
    anchorSubject: SUBJECT,
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'fail',
    class: 'untrusted',
    reason: { reason: 'link', detail: `no answer ${LINE}` },
    upload: null,
    observationId: null,
    profile: null,
    lines: [LINE, 'ERROR\x07'],
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 1,
    expect: null,
    recordedAt: '2026-11-28T01:00:00.000Z',
    note: null,
    probe: null,
  }
  const text = await collect((out) => writeAttemptsCsv(hostile(), [attempt], out))
  assert.doesNotMatch(text, RAW)
  const [header, row] = parse(text)
  const get = (col: (typeof CSV_COLUMNS)[number]) => row![header!.indexOf(col)]!
  assert.equal(
    get('anchor_subject'),
    SUBJECT.replace('\u202e', '<U+202E>')
      .replace('\u200b', '<U+200B>')
      .replace('\ufeff', '<U+FEFF>')
      .replace(BIDI, termSafe(BIDI)),
  )
  assert.match(get('anchor_name'), /O=<U\+202E>LIAM/)
  assert.equal(get('device'), 'dev<U+202E>')
  assert.equal(get('lines'), 'AT-S.Http Server Status Code:200\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m | ERROR\\x07')
  assert.match(get('reason_detail'), /\\x1b\]0;pwned\\x07/)
})

test('report.json keeps the value but escapes it: JSON.parse gives the bytes back, cat shows nothing raw', async () => {
  const model = hostile()
  const text = await collect((out) => writeReportJson(model, transcripts(model), out))
  assert.doesNotMatch(text, RAW)
  assert.ok(text.includes('O=\\u202eLIAM'))
  const back = JSON.parse(text) as { certificates: Record<string, { subject: string }> }
  assert.equal(back.certificates[SHA_EVIL]!.subject, SUBJECT, 'the value is the certificate subject, unchanged')
})

test('matrix.md and junit.xml show the same escapes', async () => {
  const model = hostile()
  const markdown = renderMarkdown(model)
  assert.doesNotMatch(markdown, RAW)
  assert.ok(markdown.includes('O=&lt;U+202E&gt;LIAM'))
  const xml = await collect((out) => writeJunit(model, out))

  assert.doesNotMatch(xml.replace(/\n/g, ''), RAW)
  assert.ok(xml.includes('O=&lt;U+202E&gt;LIAM'))
  assert.ok(xml.includes('\\x1b]0;pwned\\x07'))
})

test('jsonSafe: pretty-printed JSON (run --json, resolve --json) stays valid and keeps every value', () => {
  const value = { subject: SUBJECT, lines: [LINE], nested: { n: 1, list: ['\u2028', '\u00ad'] } }
  const text = jsonSafe(JSON.stringify(value, null, 2))
  assert.doesNotMatch(text.replace(/\n/g, ''), RAW)
  assert.deepEqual(JSON.parse(text), value)
})
