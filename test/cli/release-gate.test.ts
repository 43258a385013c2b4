import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import { dataPath } from '../../src/core/paths.js'
import type { RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { testIo } from '../helpers/io.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'
import { startTestLab } from '../helpers/lab.js'

/**
 * The release gate as a one-bench team runs it: the released firmware was surveyed in an earlier
 * run, the candidate firmware is on the bench tonight. The gate compares them, and never passes
 * without having compared anything.
 */

const LAB = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-gate-'))
let lab: RunningLab
let hosts: string

before(async () => {
  lab = await startTestLab(LAB, { outDir: dir })
  // Without the must-reject SHA-1 target (an unsafe accept, exit 1 on its own): the exit codes here are the gate's.
  hosts = join(dir, 'gate-hosts.txt')
  writeFileSync(
    hosts,
    readFileSync(lab.hostsFile, 'utf8')
      .split('\n')
      .filter((l) => !l.includes('sha1.report.test'))
      .join('\n'),
  )
  // Two profiles of our own: a byte-identical copy of 1.1.0 under another version, and a 1.1.0
  // that takes RSA-4096 keys.
  const profiles = join(dir, 'profiles')
  mkdirSync(profiles)
  const shipped = JSON.parse(readFileSync(dataPath('firmware', 'spwf04sa-1.1.0.json'), 'utf8')) as {
    tls: { certificateKeys: { rsa: { maxBits: number } } }
  }
  writeFileSync(
    join(profiles, 'spwf04sa-1.1.1.json'),
    JSON.stringify({ ...shipped, id: 'spwf04sa-1.1.1', firmware: '1.1.1' }),
  )
  const big = structuredClone(shipped)
  big.tls.certificateKeys.rsa.maxBits = 4096
  writeFileSync(
    join(profiles, 'spwf04sa-9.0.0.json'),
    JSON.stringify({ ...big, id: 'spwf04sa-9.0.0', firmware: '9.0.0' }),
  )
})
after(async () => {
  await lab?.close()
})

const profilesDir = () => join(dir, 'profiles')

/** A release-gate spec for the lab (as examples/release-gate.json, with an emulated module). */
function gateSpec(name: string, extra: { db: string; device: string; report?: Record<string, unknown> }): string {
  const spec = join(dir, `${name}.json`)
  writeFileSync(
    spec,
    JSON.stringify({
      hosts: hosts,
      devices: [{ label: 'candidate', url: extra.device }],
      profiles: [profilesDir()],
      db: extra.db,
      label: 'release gate',
      trustStore: [lab.trustStoreFile],
      trustStoreOnly: true,
      connectTo: lab.connectToEntries,
      resolve: lab.resolveEntries,
      report: {
        dir: `${name}-reports`,
        formats: ['html', 'junit', 'json'],
        baseline: 'SPWF04SA@1.1.0',
        candidate: 'this-run',
        failOn: 'regression',
        ...extra.report,
      },
    }),
  )
  return spec
}

async function cli(args: string[]) {
  const io = testIo({ inProcess: true, cwd: dir })
  const code = await run(args, io)
  return { code, out: io.out(), err: io.err() }
}

/** A plain survey of the lab (no report), its run id. */
async function survey(db: string, devices: string[]): Promise<string> {
  const r = await cli([
    'run',
    '--hosts',
    hosts,
    '--profiles',
    profilesDir(),
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    '--db',
    db,
    '--json',
    ...devices.flatMap((d) => ['--device', d]),
    ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
    ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
  ])
  assert.equal(r.code, 0, r.err)
  return (JSON.parse(r.out) as { runId: string }).runId
}

const readModel = (reports: string) =>
  JSON.parse(readFileSync(join(dir, reports, 'report.json'), 'utf8')) as ReportModel

const oneBench = join(dir, 'one-bench.db')
let releasedRun = ''

test('the one-bench release gate: the released firmware surveyed in an earlier run is the baseline; a regression exits 1 with index.html and junit.xml written', async () => {
  releasedRun = await survey(oneBench, ['emu:spwf04sa-1.1.0?no-dns'])
  const spec = gateSpec('one-bench', { db: oneBench, device: 'emu:spwf04sa-1.0.0?no-dns' })
  // The user's path, as CI runs it: the real CLI in its own process.
  const child = spawnCli(['run', '--spec', spec])
  assert.equal(await exitOf(child), 1, child.stderr())
  assert.match(
    child.stderr(),
    /--fail-on regression: 1 regression\(s\) from SPWF04SA@1\.1\.0 to run:\S+: ecdhe\.report\.test:443 \(SPWF04SA@1\.1\.0 pass → SPWF04SA@1\.0\.0 fail\)/,
  )
  assert.match(child.stdout(), new RegExp(`SPWF04SA@1\\.1\\.0 \\(run ${releasedRun}\\) -> run:\\S+: 1 regression`))
  for (const f of ['index.html', 'junit.xml', 'report.json'])
    assert.ok(existsSync(join(dir, 'one-bench-reports', f)), f)
  const m = readModel('one-bench-reports')
  assert.deepEqual(m.diff!.baselineRuns, [releasedRun])
  assert.deepEqual(
    m.diff!.regressions.map((r) => [r.target, r.baselineKey, r.candidateKey, r.before, r.after]),
    [['ecdhe.report.test:443', 'SPWF04SA@1.1.0', 'SPWF04SA@1.0.0', 'pass', 'fail']],
  )
  // The baseline's run is listed among the report's runs.
  assert.ok(m.runs.some((r) => r.id === releasedRun))
  // The HTML shows the candidate's column only: its header says where the baseline's verdicts are.
  const html = readFileSync(join(dir, 'one-bench-reports', 'index.html'), 'utf8')
  assert.match(html, /4 target\(s\) &times; 1 firmware/)
  assert.ok(
    html.includes(
      `The matrix shows one column (SPWF04SA@1.0.0), none from the baseline: the baseline's verdicts (SPWF04SA@1.1.0 (run ${releasedRun})) are in the <a href="#diff">Diff</a> only.`,
    ),
    /<header>[\s\S]*?<\/header>/.exec(html)?.[0],
  )
  // `report` over the same database, firmware against firmware, agrees with the run's gate.
  const rep = await cli([
    'report',
    '--db',
    oneBench,
    '--baseline',
    'SPWF04SA@1.1.0',
    '--candidate',
    'SPWF04SA@1.0.0',
    '--fail-on',
    'regression',
    '--format',
    'json',
    '--out',
    join(dir, 'one-bench-report'),
  ])
  assert.equal(rep.code, 1, rep.err)
  const agreed = JSON.parse(readFileSync(join(dir, 'one-bench-report', 'report.json'), 'utf8')) as ReportModel
  assert.deepEqual(
    agreed.diff!.regressions.map((r) => [r.target, r.baselineKey, r.candidateKey]),
    m.diff!.regressions.map((r) => [r.target, r.baselineKey, r.candidateKey]),
  )
  // JUnit: the regression is on the candidate's testcase, naming both firmware.
  const junit = readFileSync(join(dir, 'one-bench-reports', 'junit.xml'), 'utf8')
  assert.match(
    junit,
    /<testcase classname="SPWF04SA@1\.0\.0" name="ecdhe\.report\.test:443">\s*(?:<properties>[\s\S]*?<\/properties>\s*)?<failure message="[^"]*" type="fail regression">Failed: handshake\.\nRegression from SPWF04SA@1\.1\.0 to run:\S+: SPWF04SA@1\.1\.0 pass → SPWF04SA@1\.0\.0 fail \(handshake\)\./,
  )
})

test('a gate with nothing comparable is no pass: exit 2 with the reason (run and report)', async () => {
  // The candidate's device time all spent: every cell not run, nothing compared.
  const spec = gateSpec('nothing', { db: oneBench, device: 'emu:spwf04sa-1.0.0?no-dns' })
  const r = await cli(['run', '--spec', spec, '--device-budget-minutes', '0'])
  assert.equal(r.code, 2, r.err)
  assert.match(
    r.err,
    /REPORT_NO_DATA: --fail-on regression: nothing to compare between SPWF04SA@1\.1\.0 and run:\S+: 4 not comparable/,
  )
  // The files are written (they say why), but the exit is not a pass.
  assert.equal(readModel('nothing-reports').diff!.notComparable.length, 4)
  // Two runs of different firmware, compared each firmware with itself: nothing in common.
  const d = new Database(oneBench, { readonly: true })
  const ids = (d.prepare('SELECT id FROM runs ORDER BY started_at').all() as Array<{ id: string }>).map((x) => x.id)
  d.close()
  const rep = await cli([
    'report',
    '--db',
    oneBench,
    '--baseline',
    `run:${ids[0]}`,
    '--candidate',
    `run:${ids[1]}`,
    '--fail-on',
    'regression',
    '--format',
    'json',
    '--out',
    join(dir, 'nothing-report'),
  ])
  assert.equal(rep.code, 2, rep.err)
  assert.match(rep.err, /REPORT_NO_DATA: --fail-on regression: nothing to compare/)
  assert.ok(existsSync(join(dir, 'nothing-report', 'report.json')))
})

test('a gate whose baseline firmware has no data exits 2 (REPORT_NO_DATA), never 0; a run is never its own baseline', async () => {
  const db = join(dir, 'fresh.db')
  // A junit.xml from an earlier gate is in the directory: a CI step must not take it for tonight's.
  mkdirSync(join(dir, 'fresh-reports'))
  writeFileSync(join(dir, 'fresh-reports', 'junit.xml'), '<testsuites/>')
  const spec = gateSpec('fresh', { db, device: 'emu:spwf04sa-1.0.0?no-dns' })
  const r = await cli(['run', '--spec', spec])
  assert.equal(r.code, 2, r.err)
  assert.match(
    r.err,
    /REPORT_NO_DATA: --fail-on regression: no report written, so the gate cannot pass: SPWF04SA@1\.1\.0: no verdict for it in any complete run in the database/,
  )
  assert.match(r.err, /\(junit\.xml in \S+fresh-reports is from an earlier report\)/)
  // The bench runs the baseline's firmware itself: this run is not compared with itself.
  const same = await cli(['run', '--spec', spec, '--device', 'candidate=emu:spwf04sa-1.1.0?no-dns'])
  assert.equal(same.code, 2, same.err)
  assert.match(same.err, /SPWF04SA@1\.1\.0: no verdict for it in any complete run in the database \(other than run \S+/)
})

test('a selector compared with itself is refused (USAGE, exit 2, saying why): the same firmware, the same run, also from a run spec before any work', async () => {
  const same = (baseline: string, candidate: string) =>
    cli([
      'report',
      '--db',
      oneBench,
      '--baseline',
      baseline,
      '--candidate',
      candidate,
      '--fail-on',
      'regression',
      '--out',
      join(dir, 'same-report'),
    ])
  const fw = await same('SPWF04SA@1.1.0', 'SPWF04SA@1.1.0')
  assert.equal(fw.code, 2, fw.err)
  assert.match(
    fw.err,
    /USAGE: --baseline and --candidate are both SPWF04SA@1\.1\.0: a selector compared with itself finds no regression by construction/,
  )
  assert.equal(existsSync(join(dir, 'same-report')), false, 'nothing written')
  const run = await same(`run:${releasedRun}`, `run:${releasedRun}`)
  assert.equal(run.code, 2, run.err)
  assert.match(run.err, /USAGE: --baseline and --candidate are both run:/)
  // A spec naming the same firmware twice: refused before any device or database is touched.
  const db = join(dir, 'same.db')
  const spec = gateSpec('same', {
    db,
    device: 'emu:spwf04sa-1.1.0?no-dns',
    report: { baseline: 'SPWF04SA@1.1.0', candidate: 'SPWF04SA@1.1.0' },
  })
  const r = await cli(['run', '--spec', spec])
  assert.equal(r.code, 2, r.err)
  assert.match(r.err, /USAGE: report\.baseline and report\.candidate are both SPWF04SA@1\.1\.0/)
  assert.equal(existsSync(db), false, 'nothing ran')
})

test('run --report under a file (or unwritable) exits 2 before any work: no database, no survey', async () => {
  const file = join(dir, 'a-file')
  writeFileSync(file, '')
  const db = join(dir, 'never.db')
  const r = await cli([
    'run',
    '--hosts',
    hosts,
    '--device',
    'emu:spwf04sa-1.0.0?no-dns',
    '--db',
    db,
    '--report',
    join(file, 'reports'),
    ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
  ])
  assert.equal(r.code, 2, r.err)
  assert.match(
    r.err,
    /REPORT_WRITE_FAILED: cannot write the report to .*a-file\/reports: .*a-file is a file, not a directory/,
  )
  assert.equal(existsSync(db), false, 'nothing ran')
  assert.equal(r.out, '')
  // The spec's report directory is checked by --dry-run too.
  const spec = gateSpec('under-file', { db, device: 'emu:spwf04sa-1.0.0?no-dns', report: { dir: join(file, 'x') } })
  const dry = await cli(['run', '--spec', spec, '--dry-run'])
  assert.equal(dry.code, 2, dry.err)
  assert.match(dry.err, /REPORT_WRITE_FAILED/)
})

test('a chain rotation between a firmware and its identical copy is not a firmware regression: it is listed as a chain change with both verdicts; a firmware that is predicted to pass the new chain keeps its regression', async () => {
  const db = join(dir, 'rotation.db')
  // Before the rotation: the released firmware (and one that takes RSA-4096 keys).
  await survey(db, ['emu:spwf04sa-1.1.0?no-dns', 'emu:spwf04sa-9.0.0?no-dns'])
  lab.rotate('rotate.report.test', 1)
  try {
    // After it: the copy of 1.1.0 on the bench.
    await survey(db, ['emu:spwf04sa-1.1.1?no-dns'])
    const rep = (baseline: string) =>
      cli([
        'report',
        '--db',
        db,
        '--baseline',
        baseline,
        '--candidate',
        'SPWF04SA@1.1.1',
        '--fail-on',
        'regression',
        '--format',
        'json,md,junit,summary,html',
        '--out',
        join(dir, `rotation-${baseline}`),
      ])
    const copy = await rep('SPWF04SA@1.1.0')
    assert.equal(copy.code, 0, copy.err)
    assert.match(copy.out, /1 changed with the server's chain \(not blamed on the firmware\)/)
    const m = JSON.parse(readFileSync(join(dir, 'rotation-SPWF04SA@1.1.0', 'report.json'), 'utf8')) as ReportModel
    assert.deepEqual(m.diff!.regressions, [])
    const moved = m.diff!.chainChanged
    assert.deepEqual(
      moved.map((e) => [e.target, e.baselineKey, e.before, e.candidateKey, e.after, e.afterClass]),
      [['rotate.report.test:443', 'SPWF04SA@1.1.0', 'pass', 'SPWF04SA@1.1.1', 'fail', 'key-unsupported']],
    )
    assert.match(
      moved[0]!.why[0]!,
      /^the server's chain changed between the runs \(leaf .* re-issued with a new key \(RSA-2048\); new intermediate CN=Report Issuing CA 4096, O=tlsmatrix lab \(RSA-4096\) in place of CN=Report Issuing CA 2048, O=tlsmatrix lab \(RSA-2048\)\); SPWF04SA 1\.1\.0 is predicted to fail the new chain too$/,
    )
    assert.match(moved[0]!.chain!, /new intermediate/)
    // Listed with both verdicts in the Markdown too, apart from the regressions.
    const md = readFileSync(join(dir, 'rotation-SPWF04SA@1.1.0', 'matrix.md'), 'utf8')
    assert.match(md, /### Changed with the server's chain, not the firmware \(1\)/)
    // summary.txt counts the diff as the terminal does, the chain changes included.
    const counts = /-> SPWF04SA@1\.1\.1: (.*)$/m.exec(copy.out)![1]!
    assert.match(counts, /1 changed with the server's chain/)
    const summary = readFileSync(join(dir, 'rotation-SPWF04SA@1.1.0', 'summary.txt'), 'utf8')
    assert.ok(summary.includes(`Diff SPWF04SA@1.1.0 -> SPWF04SA@1.1.1: ${counts}\n`), summary)
    // The Markdown and the HTML page count it the same way (same and changed included).
    assert.ok(md.includes(`→ \`SPWF04SA@1.1.1\`: ${counts}`), md)
    const page = readFileSync(join(dir, 'rotation-SPWF04SA@1.1.0', 'index.html'), 'utf8')
      .replace(/<[^>]+>/g, '')
      .replace(/&#96[56]0;\s/g, '')
      // The page's text as a reader sees it: the apostrophe is escaped in the source.
      .replace(/&#39;/g, "'")
    assert.ok(page.includes(`&rarr; SPWF04SA@1.1.1: ${counts}.`), page.slice(0, 3000))
    // JUnit: still a failure of the candidate, saying the chain changed and that the gate does not count it.
    const junit = readFileSync(join(dir, 'rotation-SPWF04SA@1.1.0', 'junit.xml'), 'utf8')
    assert.match(
      junit,
      /<testcase classname="SPWF04SA@1\.1\.1" name="rotate\.report\.test:443">\s*(?:<properties>[\s\S]*?<\/properties>\s*)?<failure message="[^"]*" type="fail">Failed: key-unsupported\.\nNot a regression from SPWF04SA@1\.1\.0 to SPWF04SA@1\.1\.1: the server's chain changed between the runs \(.*\); SPWF04SA 1\.1\.0 is predicted to fail the new chain too, so --fail-on regression does not count it \(it is still a failure of SPWF04SA@1\.1\.1\)\.\n/,
    )
    // 9.0.0 takes RSA-4096 keys: it is predicted to pass the new chain, so the firmware is to blame.
    const bigger = await rep('SPWF04SA@9.0.0')
    assert.equal(bigger.code, 1, bigger.err)
    const b = JSON.parse(readFileSync(join(dir, 'rotation-SPWF04SA@9.0.0', 'report.json'), 'utf8')) as ReportModel
    assert.deepEqual(b.diff!.regressions.map((e) => e.target).sort(), ['big.report.test:443', 'rotate.report.test:443'])
    const rotated = b.diff!.regressions.find((e) => e.target === 'rotate.report.test:443')!
    assert.match(
      rotated.why[0]!,
      /^the server's chain changed between the runs \(.*\), but SPWF04SA 9\.0\.0 is predicted to pass the new chain: the firmware makes the difference$/,
    )
    // big.report.test's chain did not change: a plain regression, no chain sentence.
    assert.equal(b.diff!.regressions.find((e) => e.target === 'big.report.test:443')!.chain, null)
  } finally {
    lab.rotate('rotate.report.test', 0)
  }
})
