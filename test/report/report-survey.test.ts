import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { ARGS, CHROMIUM, browserMissing, watch } from '../helpers/browser.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'

const SPEC = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-report-'))
const db = join(dir, 'history.db')
let lab: RunningLab
const runIds: string[] = []

async function survey(): Promise<string> {
  const io = testIo({ inProcess: true })
  const code = await run(
    [
      'run',
      '--hosts',
      lab.hostsFile,
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      db,
      '--json',
      '--device',
      'a=emu:spwf04sa-1.0.0?no-dns',
      '--device',
      'b=emu:spwf04sa-1.1.0?no-dns',
      ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  // The SHA-1 host is expect=fail and the module accepts it: a finding, exit 1.
  assert.equal(code, 1, io.err())
  return (JSON.parse(io.out()) as { runId: string }).runId
}

async function report(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo({ inProcess: true })
  const code = await run(['report', '--db', db, ...args], io)
  return { code, out: io.out(), err: io.err() }
}

before(async () => {
  lab = await startTestLab(SPEC, { outDir: dir })
  runIds.push(await survey())
  // The nightly case: one host's chain is re-issued under an RSA-4096 intermediate between two runs.
  lab.rotate('rotate.report.test', 1)
  runIds.push(await survey())
})

after(async () => {
  await lab?.close()
})

function readModel(out: string): ReportModel {
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
}

test('report from two real surveys: every format written under its fixed name, the summary names them', async () => {
  const out = join(dir, 'all')
  const r = await report(['--out', out, '--baseline', 'SPWF04SA@1.0.0', '--candidate', 'SPWF04SA@1.1.0'])
  assert.equal(r.code, 0, r.err)
  for (const f of ['index.html', 'matrix.md', 'attempts.csv', 'report.json', 'junit.xml']) {
    assert.ok(existsSync(join(out, f)), f)
    assert.match(r.out, new RegExp(`wrote .*${f.replace('.', '\\.')}`))
  }
  const m = readModel(out)
  // Latest word per cell: the second run's.
  assert.ok(m.cells.every((c) => c.runId === runIds[1]))
  assert.deepEqual(
    m.firmware.map((f) => f.key),
    ['SPWF04SA@1.0.0', 'SPWF04SA@1.1.0'],
  )
  const cell = (host: string, fw: string) => m.cells.find((c) => c.host === host && c.firmware === fw)!
  // Two firmware: 1.0.0 cannot talk to the ECDHE-only server, 1.1.0 can — a fix, with its why.
  assert.equal(cell('ecdhe.report.test', '1.0.0').verdict, 'fail')
  assert.equal(cell('ecdhe.report.test', '1.0.0').class, 'handshake')
  assert.equal(cell('ecdhe.report.test', '1.1.0').verdict, 'pass')
  assert.deepEqual(
    m.diff!.fixes.map((f) => f.target),
    ['ecdhe.report.test:443'],
  )
  assert.deepEqual(m.diff!.regressions, [])
  // The must-reject SHA-1 target passes on both: an unsafe accept, and a mismatch.
  for (const fw of ['1.0.0', '1.1.0']) {
    const c = cell('sha1.report.test', fw)
    assert.equal(c.verdict, 'pass')
    assert.equal(c.expect, 'fail')
    assert.ok(c.unsafe && c.mismatch)
  }
  assert.deepEqual(m.diff!.unsafe, ['sha1.report.test:443 on SPWF04SA@1.1.0'])
  // The why names the check the module skipped, from the predictor's facts: the SHA-1 signature.
  assert.match(
    cell('sha1.report.test', '1.0.0').why.join(),
    /must be refused \(expect=fail\), yet the module accepted it with .*: it skips the signature hash check \(weak hashes refused\), as its profile says \(certificateSignatureHashes lists sha1\): leaf “CN=sha1\.report\.test” is signed with SHA-1/,
  )
  // RSA-4096 intermediate: fails with the module's own lines.
  const big = cell('big.report.test', '1.0.0')
  assert.equal(big.class, 'key-unsupported')
  assert.ok(big.lines.includes('AT-S.Certificate Error:22'), big.lines.join('|'))
  // Why, from the predictor with the run's profile snapshot: the certificate and the limit named.
  assert.deepEqual(big.why, [
    'intermediate “CN=Report Issuing CA 4096, O=tlsmatrix lab” has an RSA-4096 key; SPWF04SA 1.0.0 accepts RSA keys of 1024–2048 bits',
  ])
  assert.equal(big.predicted, 'fail')
  assert.match(
    cell('ecdhe.report.test', '1.0.0').why.join(),
    /accepts none of the module's cipher suites: SPWF04SA 1\.0\.0 offers RSA key exchange only \(it chose TLS_ECDHE_RSA_WITH_AES_\d+_GCM_SHA\d+ for a broad client\)/,
  )
  // The shipped profiles describe the emulators: no cell disagrees.
  assert.equal(m.disagreements, 0)
  assert.ok(
    m.cells.every((c) => c.predicted === c.verdict),
    JSON.stringify(m.cells.filter((c) => c.predicted !== c.verdict).map((c) => [c.target, c.key, c.predicted])),
  )
  // The issuer expiring in 30 days is forecast, with the target and firmware that depend on it.
  const hostile = m.expiring.find((e) => e.subject.includes('script') && e.role === 'intermediate')
  assert.ok(hostile, JSON.stringify(m.expiring))
  assert.ok(hostile.daysLeft <= 30 && hostile.daysLeft >= 28, String(hostile.daysLeft))
  assert.deepEqual(hostile.targets, ['ok.report.test:443'])
  // The re-issued chain: the RSA-4096 intermediate added, and what it did to each firmware.
  const change = m.chainChanges.find((c) => c.target === 'rotate.report.test:443')
  assert.ok(change, JSON.stringify(m.chainChanges))
  assert.ok(
    change.added.some((a) => a.includes('Report Issuing CA 4096') && a.includes('RSA-4096')),
    change.added.join(),
  )
  assert.ok(
    change.removed.some((a) => a.includes('Report Issuing CA 2048')),
    change.removed.join(),
  )
  assert.deepEqual(
    change.verdicts.map((v) => `${v.firmware}:${v.before}->${v.after}`),
    ['1.0.0:pass->fail', '1.1.0:pass->fail'],
  )
  assert.equal(change.before.runId, runIds[0])
  assert.equal(change.after.runId, runIds[1])
  // Only rotate.report.test changed chain.
  assert.deepEqual(
    m.chainChanges.map((c) => c.target),
    ['rotate.report.test:443'],
  )
  // The hostile subject is text in every format: escaped, never markup, never a formula.
  const html = readFileSync(join(out, 'index.html'), 'utf8')
  assert.ok(html.includes('&lt;script'), 'the subject is shown, escaped')
  assert.ok(!/<script\\?>alert/.test(html), 'no script element from a certificate')
  const md = readFileSync(join(out, 'matrix.md'), 'utf8')
  assert.ok(!/<script/.test(md) && md.includes('script'), 'Markdown shows the subject without markup')
  const junit = readFileSync(join(out, 'junit.xml'), 'utf8')
  assert.ok(!/<script/.test(junit))
  const csv = readFileSync(join(out, 'attempts.csv'), 'utf8')
  assert.ok(csv.includes('HYPERLINK'), 'the subject is in the CSV')
  assert.ok(!/(^|,)=HYPERLINK/m.test(csv), 'never at the start of a cell')
  // Provenance: both devices are emu: URLs, so every cell, evidence block, CSV row and JUnit case
  // says it was emulated, and the verdict rests on the profile's guesses.
  for (const c of m.cells) {
    assert.equal(c.evidence.provenance?.kind, 'emu', `${c.target} ${c.key}`)
    assert.match(c.evidence.provenance.url!, /^emu:spwf04sa-1\.[01]\.0\?no-dns$/)
  }
  const expiredCell = cell('ecdhe.report.test', '1.0.0')
  assert.ok(expiredCell.evidence.provenance!.guesses.length > 0)
  assert.ok(
    expiredCell.evidence.provenance!.guesses.every((i) => /GUESS/.test(m.guessNotes![i]!)),
    JSON.stringify(m.guessNotes),
  )
  assert.match(
    html,
    /emu:spwf04sa-1\.0\.0 \(emulated: the verdict follows the profile spwf04sa-1\.0\.0, not a real module\)/,
  )
  assert.match(html, /<span class="sub prov emu">emulated<\/span>/)
  assert.match(html, /prediction and the emulator read the same profile, so their agreement proves nothing/)
  assert.match(md, /· emulated/)
  const header = csv.split('\n')[0]!.split(',')
  assert.deepEqual(header.slice(-2), ['device_url', 'device_kind'])
  for (const line of csv.trim().split('\n').slice(1)) assert.match(line, /,emu:spwf04sa-1\.[01]\.0\?no-dns,emu$/)
  assert.equal(
    (junit.match(/<property name="emulated" value="true"\/>/g) ?? []).length,
    (junit.match(/<testcase /g) ?? []).length,
  )
  // Statements for docs.
  assert.ok(
    m.statements.some((s) => s.text === 'SPWF04SA reaches ecdhe.report.test from 1.1.0'),
    JSON.stringify(m.statements),
  )
  // The docs page and the summary, asked for by name: the PEM of each CA is the certificate its SHA-256 names.
  const extra = join(dir, 'docs')
  const d = await report([
    '--out',
    extra,
    '--format',
    'docs,summary',
    '--baseline',
    'SPWF04SA@1.0.0',
    '--candidate',
    'SPWF04SA@1.1.0',
  ])
  assert.equal(d.code, 0, d.err)
  assert.match(d.out, /wrote .*compatibility\.md/)
  assert.match(d.out, /wrote .*summary\.txt/)
  assert.ok(!existsSync(join(extra, 'index.html')), 'only the formats asked for')
  const docs = readFileSync(join(extra, 'compatibility.md'), 'utf8')
  const pems = [...docs.matchAll(/- SHA-256: `([0-9a-f]{64})`\n\n```pem\n([\s\S]*?)\n```/g)]
  assert.ok(pems.length >= 1, docs)
  for (const [, sha, pem] of pems)
    assert.equal(new X509Certificate(`${pem}\n`).fingerprint256.replace(/:/g, '').toLowerCase(), sha)
  assert.ok(!/Disagreements|Diff|transcript/.test(docs))
  const summary = readFileSync(join(extra, 'summary.txt'), 'utf8')
  assert.match(
    summary,
    /^ {2}SPWF04SA@1\.0\.0: \d+ pass, \d+ fail, \d+ not run.*\(all emulated: verdicts follow the profile\)$/m,
  )
  assert.match(summary, /^Diff SPWF04SA@1\.0\.0 -> SPWF04SA@1\.1\.0: 0 regression\(s\)/m)
})

test('rendered from the database alone: the profile snapshot kept with the run judges, and a profile that is wrong shows as disagreements, listed first', async () => {
  // Another machine, months later: a copy of the database, and a snapshot that says 1.0.0 takes RSA-4096.
  const copy = join(dir, 'copy.db')
  copyFileSync(db, copy)
  const d = new Database(copy)
  try {
    for (const r of d.prepare('SELECT id, profiles FROM runs').all() as Array<{ id: string; profiles: string }>) {
      const p = JSON.parse(r.profiles) as Record<string, { tls: { certificateKeys: { rsa: { maxBits: number } } } }>
      p.a!.tls.certificateKeys.rsa.maxBits = 4096
      d.prepare('UPDATE runs SET profiles = ? WHERE id = ?').run(JSON.stringify(p), r.id)
    }
  } finally {
    d.close()
  }
  const out = join(dir, 'copy')
  const io = testIo({ inProcess: true })
  assert.equal(await run(['report', '--db', copy, '--out', out, '--format', 'json,md'], io), 0, io.err())
  const m = readModel(out)
  const big = m.cells.find((c) => c.host === 'big.report.test' && c.firmware === '1.0.0')!
  assert.equal(big.verdict, 'fail')
  assert.equal(big.predicted, 'pass')
  assert.ok(big.disagree)
  // 1.0.0 with the rotated chain too (an RSA-4096 intermediate now): two disagreements.
  assert.equal(m.disagreements, 2)
  assert.match(io.out(), /2 cell\(s\) where the profile's prediction disagrees/)
  const md = readFileSync(join(out, 'matrix.md'), 'utf8')
  const first = md.search(/disagree/i)
  assert.ok(first >= 0 && first < md.search(/\| *target/i), 'disagreements come before the matrix')
})

test('a run killed half-way hides nothing a complete run found; its own report lists the targets it never reached', async () => {
  const copy = join(dir, 'killed.db')
  copyFileSync(db, copy)
  const d = new Database(copy)
  const killed = 'zz-killed-run'
  try {
    // A later run that died (kill -9) after one attempt: status still "running".
    d.prepare(
      `INSERT INTO runs (id, label, started_at, ended_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, plan, profiles, targets)
      SELECT ?, label, '2999-01-01T00:00:00.000Z', NULL, 'running', tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, NULL, profiles, targets FROM runs WHERE id = ?`,
    ).run(killed, runIds[1])
    const one = d
      .prepare(
        "SELECT id FROM attempts WHERE run_id = ? AND host = 'ok.report.test' AND firmware = '1.1.0' AND final = 1 ORDER BY id LIMIT 1",
      )
      .get(runIds[1]) as { id: number }
    const cols = (d.prepare('PRAGMA table_info(attempts)').all() as Array<{ name: string }>)
      .map((c) => c.name)
      .filter((c) => c !== 'id' && c !== 'run_id')
    d.prepare(
      `INSERT INTO attempts (run_id, ${cols.join(', ')}) SELECT ?, ${cols.join(', ')} FROM attempts WHERE id = ?`,
    ).run(killed, one.id)
  } finally {
    d.close()
  }
  const out = join(dir, 'killed')
  const io = testIo({ inProcess: true })
  assert.equal(await run(['report', '--db', copy, '--out', out, '--format', 'json'], io), 0, io.err())
  const m = readModel(out)
  const ok = m.cells.find((c) => c.host === 'ok.report.test' && c.firmware === '1.1.0')!
  assert.equal(ok.runId, runIds[1], 'the complete run keeps the cell')
  assert.equal(ok.anchors.passed.length, 2)
  // The killed run's own report: one cell, and every other target it listed shown without data.
  const own = await run(
    ['report', '--db', copy, '--out', out, '--format', 'json', '--run', killed],
    testIo({ inProcess: true }),
  )
  assert.equal(own, 0)
  const k = readModel(out)
  assert.equal(k.cells.length, 1)
  assert.deepEqual(k.targets.map((t) => t.host).sort(), [
    'big.report.test',
    'ecdhe.report.test',
    'ok.report.test',
    'rotate.report.test',
    'sha1.report.test',
  ])
})

test('two runs compared: each firmware against itself, the re-issued chain is a regression on both, --fail-on regression exits 1', async () => {
  const out = join(dir, 'nightly')
  const r = await report([
    '--out',
    out,
    '--format',
    'json',
    '--baseline',
    `run:${runIds[0]}`,
    '--candidate',
    `run:${runIds[1]}`,
    '--fail-on',
    'regression',
  ])
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, /--fail-on regression: 2 regression\(s\)/)
  const m = readModel(out)
  assert.deepEqual(
    m.diff!.regressions.map((x) => `${x.target} ${x.key}`),
    ['rotate.report.test:443 SPWF04SA@1.0.0', 'rotate.report.test:443 SPWF04SA@1.1.0'],
  )
  // The report is still written when the gate fails: CI uploads it.
  assert.ok(existsSync(join(out, 'report.json')))
  const same = await report([
    '--out',
    out,
    '--format',
    'json',
    '--baseline',
    `run:${runIds[1]}`,
    '--candidate',
    `run:${runIds[1]}`,
    '--fail-on',
    'regression',
  ])
  // A run compared with itself would judge nothing: refused, not a pass.
  assert.equal(same.code, 2, same.err)
  assert.match(same.err, /USAGE: --baseline and --candidate are both run:\S+: a selector compared with itself/)
})

test('--fail-on: unsafe and any-fail exit 1, never exits 0; a cell-less selection and bad input exit 2', async () => {
  const out = join(dir, 'gates')
  assert.equal((await report(['--out', out, '--format', 'json', '--fail-on', 'unsafe'])).code, 1)
  assert.equal((await report(['--out', out, '--format', 'json', '--fail-on', 'any-fail'])).code, 1)
  assert.equal((await report(['--out', out, '--format', 'json'])).code, 0)
  // Only the plain hosts of the first run, on 1.1.0 alone: no fail, no unsafe (tags filter).
  const tagged = await report(['--out', out, '--format', 'json', '--tags', 'ecdhe-only', '--fail-on', 'unsafe'])
  assert.equal(tagged.code, 0, tagged.err)
  assert.deepEqual([...new Set(readModel(out).cells.map((c) => c.host))], ['ecdhe.report.test'])
  const noData = await report(['--out', out, '--baseline', 'SPWF04SA@9.9.9', '--candidate', 'SPWF04SA@1.1.0'])
  assert.equal(noData.code, 2)
  assert.match(noData.err, /REPORT_NO_DATA: SPWF04SA@9\.9\.9: no verdict for it.*SPWF04SA@1\.0\.0, SPWF04SA@1\.1\.0/)
  const nearly = await report(['--out', out, '--baseline', 'spwf04sa@1.0.0', '--candidate', 'SPWF04SA@1.1.0'])
  assert.equal(nearly.code, 2)
  assert.match(nearly.err, /did you mean SPWF04SA@1\.0\.0\?/)
  assert.equal((await report(['--out', out, '--format', 'JSON'])).code, 0, 'format names in any case')
  const badFormat = await report(['--out', out, '--format', 'html,pdf'])
  assert.equal(badFormat.code, 2)
  assert.match(badFormat.err, /html, md, csv, json, junit/)
  const noDb = await run(['report', '--db', join(dir, 'missing.db'), '--out', out], testIo({ inProcess: true }))
  assert.equal(noDb, 2)
  assert.equal(existsSync(join(dir, 'missing.db')), false, 'a report never creates a database')
  const oneSided = await report(['--out', out, '--baseline', 'SPWF04SA@1.0.0'])
  assert.equal(oneSided.code, 2)
  const unknownRun = await report(['--out', out, '--run', 'no-such-run'])
  assert.equal(unknownRun.code, 2)
  assert.match(unknownRun.err, /no-such-run: no such run/)
})

test("the report of the real surveys in Chromium: the matrix and a failure's why are visible, the hostile subject is text, nothing is fetched", async (t) => {
  const skip = browserMissing()
  if (skip) {
    t.skip(skip)
    return
  }
  const out = join(dir, 'browser')
  assert.equal(
    (await report(['--out', out, '--format', 'html', '--baseline', 'SPWF04SA@1.0.0', '--candidate', 'SPWF04SA@1.1.0']))
      .code,
    0,
  )
  const fileUrl = pathToFileURL(join(out, 'index.html')).href
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  try {
    const page = await browser.newPage()
    const seen = watch(page, fileUrl)
    await page.goto(fileUrl, { waitUntil: 'load' })
    await page.locator('table.matrix').first().waitFor({ state: 'visible' })
    await page
      .locator('#failures li', { hasText: 'has an RSA-4096 key; SPWF04SA 1.0.0 accepts RSA keys of 1024–2048 bits' })
      .first()
      .waitFor({ state: 'visible' })
    await page.locator('#unsafe', { hasText: 'sha1.report.test' }).waitFor({ state: 'visible' })
    // The certificate's markup is text: no element came out of it.
    assert.equal(await page.locator('script').count(), 1, "only the page's own script")
    assert.ok((await page.content()).includes('&lt;script'), 'the hostile subject is on the page, escaped')
    const shot = join(out, 'report.png')
    await page.screenshot({ path: shot, fullPage: false })
    t.diagnostic(`screenshot: ${shot}`)
    assert.deepEqual(seen.foreign, [])
    assert.deepEqual(seen.errors, [])
    assert.deepEqual(seen.dialogs, [])
  } finally {
    await browser.close()
  }
})
