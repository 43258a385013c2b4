import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import { dataPath } from '../../src/core/paths.js'
import { readLabSpec, startLab, type RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { testIo } from '../helpers/io.js'

const SPEC = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-report-'))
const db = join(dir, 'history.db')
let lab: RunningLab
const runIds: string[] = []

async function survey(): Promise<string> {
  const io = testIo()
  const code = await run(['run', '--hosts', lab.hostsFile, '--trust-store', lab.trustStoreFile, '--trust-store-only', '--db', db, '--json',
    '--device', 'a=emu:spwf04sa-1.0.0?no-dns', '--device', 'b=emu:spwf04sa-1.1.0?no-dns',
    ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]), ...lab.resolveEntries.flatMap((e) => ['--resolve', e])], io)
  // The SHA-1 host is expect=fail and the module accepts it: a finding, exit 1.
  assert.equal(code, 1, io.err())
  return (JSON.parse(io.out()) as { runId: string }).runId
}

async function report(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo()
  const code = await run(['report', '--db', db, ...args], io)
  return { code, out: io.out(), err: io.err() }
}

before(async () => {
  lab = await startLab(await readLabSpec(SPEC), { cacheDir: dataPath('lab', '.cache'), outDir: dir, now: new Date(), ephemeralPorts: true })
  runIds.push(await survey())
  // The nightly case: one host's chain is re-issued under an RSA-4096 intermediate between two runs.
  lab.rotate('rotate.report.test', 1)
  runIds.push(await survey())
})

after(async () => { await lab?.close() })

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
  assert.deepEqual(m.firmware.map((f) => f.key), ['SPWF04SA@1.0.0', 'SPWF04SA@1.1.0'])
  const cell = (host: string, fw: string) => m.cells.find((c) => c.host === host && c.firmware === fw)!
  // Two firmware: 1.0.0 cannot talk to the ECDHE-only server, 1.1.0 can — a fix, with its why.
  assert.equal(cell('ecdhe.report.test', '1.0.0').verdict, 'fail')
  assert.equal(cell('ecdhe.report.test', '1.0.0').class, 'handshake')
  assert.equal(cell('ecdhe.report.test', '1.1.0').verdict, 'pass')
  assert.deepEqual(m.diff!.fixes.map((f) => f.target), ['ecdhe.report.test:443'])
  assert.deepEqual(m.diff!.regressions, [])
  // The must-reject SHA-1 target passes on both: an unsafe accept, and a mismatch.
  for (const fw of ['1.0.0', '1.1.0']) {
    const c = cell('sha1.report.test', fw)
    assert.equal(c.verdict, 'pass')
    assert.equal(c.expect, 'fail')
    assert.ok(c.unsafe && c.mismatch)
  }
  assert.deepEqual(m.diff!.unsafe, ['sha1.report.test:443'])
  // RSA-4096 intermediate: fails with the module's own lines.
  const big = cell('big.report.test', '1.0.0')
  assert.equal(big.class, 'key-unsupported')
  assert.ok(big.lines.includes('AT-S.Certificate Error:22'), big.lines.join('|'))
  // The issuer expiring in 30 days is forecast, with the target and firmware that depend on it.
  const hostile = m.expiring.find((e) => e.subject.includes('<script>'))
  assert.ok(hostile, JSON.stringify(m.expiring))
  assert.ok(hostile.daysLeft <= 30 && hostile.daysLeft >= 28, String(hostile.daysLeft))
  assert.deepEqual(hostile.targets, ['ok.report.test:443'])
  // The re-issued chain: the RSA-4096 intermediate added, and what it did to each firmware.
  const change = m.chainChanges.find((c) => c.target === 'rotate.report.test:443')
  assert.ok(change, JSON.stringify(m.chainChanges))
  assert.ok(change.added.some((a) => a.includes('Report Issuing CA 4096') && a.includes('RSA-4096')), change.added.join())
  assert.ok(change.removed.some((a) => a.includes('Report Issuing CA 2048')), change.removed.join())
  assert.deepEqual(change.verdicts.map((v) => `${v.firmware}:${v.before}->${v.after}`), ['1.0.0:pass->fail', '1.1.0:pass->fail'])
  assert.equal(change.before.runId, runIds[0])
  assert.equal(change.after.runId, runIds[1])
  // Only rotate.report.test changed chain.
  assert.deepEqual(m.chainChanges.map((c) => c.target), ['rotate.report.test:443'])
  // Statements for docs.
  assert.ok(m.statements.some((s) => s.text === 'SPWF04SA reaches ecdhe.report.test from 1.1.0'), JSON.stringify(m.statements))
})

test('two runs compared: each firmware against itself, the re-issued chain is a regression on both, --fail-on regression exits 1', async () => {
  const out = join(dir, 'nightly')
  const r = await report(['--out', out, '--format', 'json', '--baseline', `run:${runIds[0]}`, '--candidate', `run:${runIds[1]}`, '--fail-on', 'regression'])
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, /--fail-on regression: 2 regression\(s\)/)
  const m = readModel(out)
  assert.deepEqual(m.diff!.regressions.map((x) => `${x.target} ${x.key}`), ['rotate.report.test:443 SPWF04SA@1.0.0', 'rotate.report.test:443 SPWF04SA@1.1.0'])
  // The report is still written when the gate fails: CI uploads it.
  assert.ok(existsSync(join(out, 'report.json')))
  const same = await report(['--out', out, '--format', 'json', '--baseline', `run:${runIds[1]}`, '--candidate', `run:${runIds[1]}`, '--fail-on', 'regression'])
  assert.equal(same.code, 0, same.err)
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
  const badFormat = await report(['--out', out, '--format', 'html,pdf'])
  assert.equal(badFormat.code, 2)
  assert.match(badFormat.err, /html, md, csv, json, junit/)
  const noDb = await run(['report', '--db', join(dir, 'missing.db'), '--out', out], testIo())
  assert.equal(noDb, 2)
  assert.equal(existsSync(join(dir, 'missing.db')), false, 'a report never creates a database')
  const oneSided = await report(['--out', out, '--baseline', 'SPWF04SA@1.0.0'])
  assert.equal(oneSided.code, 2)
  const unknownRun = await report(['--out', out, '--run', 'no-such-run'])
  assert.equal(unknownRun.code, 2)
  assert.match(unknownRun.err, /no-such-run: no such run/)
})
