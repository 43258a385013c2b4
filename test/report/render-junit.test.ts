import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import { create } from 'xmlbuilder2'
import { writeJunit, xmlAttr, xmlText } from '../../src/report/render/index.js'
import type { DiffEntry, ReportModel } from '../../src/report/model/types.js'
import { HOSTILE_LINES, cell, column, hostileModel, releaseAll, target } from './render-fixture.js'

async function render(model: ReportModel): Promise<string> {
  const chunks: Buffer[] = []
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      cb()
    },
  })
  await writeJunit(model, out)
  return Buffer.concat(chunks).toString('utf8')
}

interface Case {
  classname: string
  name: string
  failure: { message: string; type: string; body: string } | null
  skipped: string | null
}
interface Suite {
  name: string
  tests: number
  failures: number
  skipped: number
  cases: Case[]
}

/** The DOM calls used here (xmlbuilder2's nodes are DOM nodes; this project has no DOM lib types). */
interface Element {
  nodeType: number
  tagName: string
  childNodes: ArrayLike<Element>
  textContent: string | null
  getAttribute(name: string): string | null
}

/** The document read back by xmlbuilder2's parser, through its DOM. */
function readBack(xml: string): { root: Element; suites: Suite[] } {
  const root = create(xml).root().node as unknown as Element
  assert.equal(root.tagName, 'testsuites')
  const kids = (e: Element, tag: string) =>
    Array.from(e.childNodes).filter((n) => n.nodeType === 1 && n.tagName === tag)
  const suites = kids(root, 'testsuite').map((s) => ({
    name: s.getAttribute('name')!,
    tests: Number(s.getAttribute('tests')),
    failures: Number(s.getAttribute('failures')),
    skipped: Number(s.getAttribute('skipped')),
    cases: kids(s, 'testcase').map((c) => {
      const f = kids(c, 'failure')[0]
      const sk = kids(c, 'skipped')[0]
      return {
        classname: c.getAttribute('classname')!,
        name: c.getAttribute('name')!,
        failure: f
          ? { message: f.getAttribute('message')!, type: f.getAttribute('type')!, body: f.textContent ?? '' }
          : null,
        skipped: sk ? sk.getAttribute('message') : null,
      }
    }),
  }))
  return { root, suites }
}

// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

test('junit: one suite per firmware column, one testcase per target, failures, mismatches, regressions and skips', async () => {
  const model = hostileModel()
  const xml = await render(model)
  const { suites } = readBack(xml)
  assert.deepEqual(
    suites.map((s) => s.name),
    ['SPWF04SA@1.0.0', 'SPWF04SA@1.1.0', 'SPWF|01<b>@3.5`x`'],
  )
  for (const s of suites) {
    assert.deepEqual(
      s.cases.map((c) => c.name),
      model.targets.map((t) => t.target),
    )
    for (const c of s.cases) assert.equal(c.classname, s.name)
    assert.equal(s.tests, s.cases.length)
    assert.equal(s.failures, s.cases.filter((c) => c.failure).length)
    assert.equal(s.skipped, s.cases.filter((c) => c.skipped !== null).length)
  }
  const [old, neu, odd] = suites.map((s) => new Map(s.cases.map((c) => [c.name, c])))
  // A fail: the class and the module's lines as the message, hostile text kept as text.
  const ebayOld = old!.get('www.ebay.com:443')!
  assert.equal(ebayOld.failure?.type, 'fail')
  // Control characters are written out (`\x1b`, `\x0d`), in the message and the body alike.
  const shown = (l: string) => l.replace('\x1b', '\\x1b').replace('\r\n', '\\x0d\\x0a')
  assert.equal(ebayOld.failure?.message, `handshake: ${HOSTILE_LINES.map(shown).join(' | ')}`)
  for (const l of HOSTILE_LINES) assert.ok(ebayOld.failure.body.includes(`  ${shown(l)}`), l)
  // A pass is a passing testcase; a not-run is skipped with its reason; no data is skipped too.
  assert.equal(neu!.get('www.ebay.com:443')!.failure, null)
  assert.equal(neu!.get('www.ebay.com:443')!.skipped, null)
  assert.equal(neu!.get('evil|<script>.test:443')!.skipped, 'link: no answer | twice <x>')
  assert.equal(odd!.get('www.ebay.com:443')!.skipped, 'no data')
  // expect=pass that failed: a fail and a mismatch.
  assert.equal(old!.get('evil|<script>.test:443')!.failure?.type, 'fail mismatch')
  // A must-reject target that fails is the expected result; one that passes is unsafe, and here also a regression.
  assert.equal(old!.get('expired.test:443')!.failure, null)
  assert.equal(neu!.get('expired.test:443')!.failure?.type, 'unsafe regression')
  assert.match(neu!.get('expired.test:443')!.failure!.body, /UNSAFE/)
  // The diff compares firmware columns: its regression marks the candidate column only.
  assert.equal(neu!.get('revoked.test:443')!.failure?.type, 'regression')
  assert.match(
    neu!.get('revoked.test:443')!.failure!.body,
    /Regression from SPWF04SA@1\.0\.0 to SPWF04SA@1\.1\.0: SPWF04SA@1\.0\.0 pass → SPWF04SA@1\.1\.0 fail \(handshake\)\.\na \| regression <i>/,
  )
  assert.equal(old!.get('revoked.test:443')!.skipped, 'no data')
})

test('junit: a regression is looked up by target and firmware: another column of the same target keeps its own result', async () => {
  const base = hostileModel()
  const old = column('SPWF04SA', '1.0.0')
  const neu = column('SPWF04SA', '1.1.0')
  const t = target('both.test:443', [])
  const u = target('other.test:443', [])
  const entry = (over: Partial<DiffEntry>): DiffEntry => ({
    target: t.target,
    key: null,
    baselineKey: null,
    candidateKey: null,
    before: 'pass',
    after: 'fail',
    beforeClass: null,
    afterClass: 'key-unsupported',
    chain: null,
    why: ['why of 1.1.0'],
    ...over,
  })
  const model: ReportModel = {
    ...base,
    firmware: [old, neu],
    targets: [t, u],
    cells: [
      // Failed in both runs on 1.0.0; regressed on 1.1.0.
      cell(t, old, { verdict: 'fail', class: 'handshake', why: ['why of 1.0.0'] }),
      cell(t, neu, { verdict: 'fail', class: 'key-unsupported', why: ['why of 1.1.0'] }),
      cell(u, old, { verdict: 'fail', class: 'handshake' }),
      cell(u, neu, { verdict: 'fail', class: 'handshake' }),
    ],
    // Tonight against last night, each firmware against itself.
    diff: {
      ...base.diff!,
      baseline: 'run:a',
      candidate: 'run:b',
      regressions: [entry({ key: neu.key, baselineKey: neu.key, candidateKey: neu.key })],
      fixes: [],
      changed: [],
      notComparable: [],
      same: [`${t.target} on ${old.key}`],
      unsafe: [],
    },
  }
  const byCase = async (m: ReportModel) =>
    new Map(readBack(await render(m)).suites.flatMap((s) => s.cases.map((c) => [`${c.name} ${c.classname}`, c])))
  const nightly = await byCase(model)
  const same = nightly.get('both.test:443 SPWF04SA@1.0.0')!
  assert.equal(same.failure?.type, 'fail')
  assert.doesNotMatch(same.failure.body, /Regression|pass → fail|why of 1\.1\.0/)
  const regressed = nightly.get('both.test:443 SPWF04SA@1.1.0')!
  assert.equal(regressed.failure?.type, 'fail regression')
  assert.match(
    regressed.failure.body,
    /Regression from run:a to run:b: SPWF04SA@1\.1\.0 pass → SPWF04SA@1\.1\.0 fail \(key-unsupported\)\.\nwhy of 1\.1\.0/,
  )
  // A firmware baseline against a run holding 1.0.0: only the 1.0.0 testcase carries the regression.
  const gate = await byCase({
    ...model,
    diff: {
      ...model.diff!,
      baseline: 'SPWF04SA@1.1.0',
      candidate: 'run:b',
      regressions: [
        entry({
          target: u.target,
          baselineKey: neu.key,
          candidateKey: old.key,
          afterClass: 'handshake',
          why: ['why of 1.0.0'],
        }),
      ],
    },
  })
  assert.equal(gate.get('other.test:443 SPWF04SA@1.0.0')!.failure?.type, 'fail regression')
  assert.equal(gate.get('other.test:443 SPWF04SA@1.1.0')!.failure?.type, 'fail')
  assert.doesNotMatch(gate.get('other.test:443 SPWF04SA@1.1.0')!.failure!.body, /Regression/)
  assert.equal(gate.get('both.test:443 SPWF04SA@1.1.0')!.failure?.type, 'fail')
})

test('junit: markup, entity-looking text and control characters survive as text, never as XML', async () => {
  const model = hostileModel()
  const nasty =
    'a&amp;b &nbsp; &lt;script&gt; </testcase><testcase name="x"> ]]> <!-- \x00\x01\x0b\x1b\ufffe\ud800 "q" \'s\' \ttab\nnl\rcr'
  model.targets[0] = { ...model.targets[0]!, target: nasty }
  model.cells = model.cells.map((c) =>
    c.target === 'www.ebay.com:443' ? { ...c, target: nasty, lines: [nasty], why: [nasty] } : c,
  )
  const xml = await render(model)
  assert.doesNotMatch(xml, NOT_XML_CHAR)
  assert.doesNotMatch(xml, /<script|<img|<testcase name="x"/)
  const { suites } = readBack(xml)
  // Still three suites of six testcases: nothing was injected.
  assert.deepEqual(
    suites.map((s) => s.cases.length),
    [6, 6, 6],
  )
  // What XML cannot carry, or what acts on a reader, is written out (`\x00`, `<U+FFFE>`); the rest
  // comes back exactly, in attributes (tab, CR, LF included) and in text.
  const written = (t: string) =>
    t
      .replace('\x00\x01\x0b\x1b\ufffe\ud800', '\\x00\\x01\\x0b\\x1b<U+FFFE><U+D800>')
      .replace('\t', '\\x09')
      .replace('\n', '\\x0a')
      .replace('\r', '\\x0d')
  const kept = nasty.replace('\x00\x01\x0b\x1b\ufffe\ud800', '\\x00\\x01\\x0b\\x1b<U+FFFE><U+D800>')
  const c = suites[0]!.cases[0]!
  assert.equal(c.name, kept)
  // A message is one line, and so is each untrusted line of the body: tab, LF and CR are written out there too.
  assert.equal(c.failure!.message, `handshake: ${written(nasty)}`)
  assert.ok(c.failure!.body.includes(written(nasty)), c.failure!.body)
})

test('xml escaping helpers', () => {
  assert.equal(xmlText('a&amp;<b>]]>\r'), 'a&amp;amp;&lt;b&gt;]]&gt;&#13;')
  assert.equal(xmlAttr('"\t\n\x00\x85\u202e'), '&quot;&#9;&#10;\\x00\\x85&lt;U+202E&gt;')
})

test('junit: written testcase by testcase, waiting while the output is full', async () => {
  const base = hostileModel()
  const targets = Array.from({ length: 3_000 }, (_, i) => target(`t${i}.test:443`, []))
  const model: ReportModel = {
    ...base,
    diff: null,
    targets,
    cells: targets.map((t, i) =>
      cell(t, base.firmware[i % 2]!, {
        verdict: i % 3 ? 'pass' : 'fail',
        class: 'handshake',
        lines: ['x'.repeat(200)],
      }),
    ),
  }
  const held: Array<() => void> = []
  const chunks: Buffer[] = []
  const hwm = 16 * 1024
  const out = new Writable({
    highWaterMark: hwm,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      held.push(() => cb())
    },
  })
  let finished = false
  const done = writeJunit(model, out).then(() => {
    finished = true
  })
  let last = -1
  for (let i = 0; i < 10_000 && out.writableLength !== last; i++) {
    last = out.writableLength
    for (let j = 0; j < 5; j++) await tick()
  }
  assert.equal(finished, false)
  assert.ok(out.writableLength < hwm + 4096, `${out.writableLength} bytes queued while the reader took nothing`)
  await releaseAll(out, held, () => finished)
  await done
  const { suites } = readBack(Buffer.concat(chunks).toString('utf8'))
  assert.deepEqual(
    suites.map((s) => s.cases.length),
    [3_000, 3_000, 3_000],
  )
  assert.equal(suites[0]!.failures, 500) // even targets are in the first column, one in three of all fail
})

test('junit: every testcase with a cell says its device, emulated or not; a failure body gives the profile guesses', async () => {
  const model = hostileModel()
  const xml = await render(model)
  const cases = xml.split('<testcase ').slice(1)
  let emulated = 0
  for (const c of cases) {
    if (c.includes('<skipped message="no data"/>')) continue
    assert.match(c, /<property name="device" value="[^"]+"\/>/, c)
    assert.match(c, /<property name="emulated" value="(true|false)"\/>/, c)
    if (c.includes('value="true"')) {
      emulated++
      assert.match(c, /<property name="device_kind" value="emu"\/>/)
    }
  }
  assert.equal(emulated, 2)
  const { suites } = readBack(xml)
  const unsafe = suites[1]!.cases.find((c) => c.name === 'expired.test:443')!
  assert.match(
    unsafe.failure!.body,
    /device: emu:SPWF04SA@1\.1\.0 \(emulated: the verdict follows the profile SPWF04SA@1\.1\.0, not a real module\)\.\n {2}profile guess: GUESS: validity is checked \| against <the clock> `x` \[C\]/,
  )
  const real = suites[0]!.cases.find((c) => c.name === 'www.ebay.com:443')!
  assert.match(real.failure!.body, /device: \/dev\/ttyUSB0 \(serial port: taken as a real module\)\./)
})
