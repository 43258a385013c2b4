import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify as toYaml } from 'yaml'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'

const LAB = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-spec-'))
let lab: RunningLab

before(async () => {
  lab = await startTestLab(LAB, { outDir: dir })
})
after(async () => {
  await lab?.close()
})

/** A nightly spec for the lab, paths relative to the spec's folder. */
function nightly(extra: Record<string, unknown> = {}) {
  return {
    hosts: 'hosts.txt',
    devices: [{ label: 'old', url: 'emu:spwf04sa-1.0.0?no-dns' }, 'new=emu:spwf04sa-1.1.0?no-dns'],
    db: 'nightly.db',
    trustStore: ['trust.pem'],
    trustStoreOnly: true,
    connectTo: lab.connectToEntries,
    resolve: lab.resolveEntries,
    report: { dir: 'reports', formats: ['json', 'md'], baseline: 'previous-run', failOn: 'regression' },
    ...extra,
  }
}

async function cli(args: string[]) {
  const io = testIo({ inProcess: true, cwd: tmpdir() })
  const code = await run(args, io)
  return { code, out: io.out(), err: io.err() }
}

test('a YAML run spec runs the nightly job: tonight against last night, and a regression exits 1 with the report written', async () => {
  const spec = join(dir, 'nightly.yaml')
  const formats = ['json', 'md', 'junit', 'summary']
  writeFileSync(spec, toYaml(nightly({ report: { ...nightly().report, formats } })))
  // The first night has no previous run: no diff, no gate; the SHA-1 must-reject target is a finding (exit 1).
  const first = await cli(['run', '--spec', spec])
  assert.equal(first.code, 1, first.err)
  assert.match(first.err, /no previous-run to compare with/)
  // summary.txt says only what was judged: regressions were not, and why.
  const firstSummary = readFileSync(join(dir, 'reports', 'summary.txt'), 'utf8')
  assert.match(
    firstSummary,
    /^Regressions not judged: no previous-run to compare with \(no earlier complete run in the database\)\.$/m,
  )
  assert.doesNotMatch(firstSummary, /regression,|^Diff /m)
  lab.rotate('rotate.report.test', 1)
  try {
    const second = await cli(['run', '--spec', spec])
    assert.equal(second.code, 1, second.err)
    // The gate's message says, on each entry, that the server's chain changed and how.
    assert.match(
      second.err,
      /--fail-on regression: 2 regression\(s\) from run:\S+ to run:\S+: rotate\.report\.test:443 \(SPWF04SA@1\.0\.0 pass → fail: the server's chain changed between the runs \(leaf .* re-issued with a new key \(RSA-2048\); new intermediate CN=Report Issuing CA 4096, O=tlsmatrix lab \(RSA-4096\) in place of CN=Report Issuing CA 2048, O=tlsmatrix lab \(RSA-2048\)\)\), rotate\.report\.test:443 \(SPWF04SA@1\.1\.0 pass → fail: the server's chain changed/,
    )
    assert.match(
      second.out,
      /^REGRESSIONS: rotate\.report\.test:443 on SPWF04SA@1\.0\.0 \(pass on SPWF04SA@1\.0\.0, now fail; the server's chain changed between the runs \(leaf .*\(RSA-4096\).*\)\), rotate\.report\.test:443 on SPWF04SA@1\.1\.0 \(pass on SPWF04SA@1\.1\.0, now fail; the server's chain changed/m,
    )
    // summary.txt too, in words without certificate names (it names no server text).
    const summary = readFileSync(join(dir, 'reports', 'summary.txt'), 'utf8')
    assert.match(
      summary,
      /- 2 regression\(s\): rotate\.report\.test:443 on SPWF04SA@1\.0\.0 pass -> fail \(key-unsupported\); the server's chain changed between the runs \(leaf re-issued with a new key \(RSA-2048\); new intermediate \(RSA-4096\) under another name in place of the old one \(RSA-2048\)\), rotate\.report\.test:443 on SPWF04SA@1\.1\.0 pass -> fail \(key-unsupported\); the server's chain changed/,
    )
    assert.doesNotMatch(summary, /CN=/)
    // JUnit: each regression's failure says each sentence once.
    const junit = readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8')
    const bodies = [...junit.matchAll(/<failure [^>]*type="[^"]*regression[^"]*">([^<]*)<\/failure>/g)].map(
      (x) => x[1]!,
    )
    assert.equal(bodies.length, 2, junit)
    for (const body of bodies) {
      const lines = body.split('\n').filter((l) => l.trim() !== '')
      assert.deepEqual(
        lines.filter((l, i) => lines.indexOf(l) !== i),
        [],
        body,
      )
      assert.equal(lines.filter((l) => l.includes("the server's chain changed")).length, 1, body)
      assert.equal(lines.filter((l) => l.includes('has an RSA-4096 key')).length, 1, body)
    }
    const m = JSON.parse(readFileSync(join(dir, 'reports', 'report.json'), 'utf8')) as ReportModel
    assert.match(m.diff!.baseline, /^run:/)
    assert.deepEqual(
      m.diff!.regressions.map((r) => `${r.target} ${r.key}`),
      ['rotate.report.test:443 SPWF04SA@1.0.0', 'rotate.report.test:443 SPWF04SA@1.1.0'],
    )
    // The same firmware both nights: the server's chain change is the nightly's regression, and it says how.
    for (const r of m.diff!.regressions) {
      assert.equal(r.baselineKey, r.key)
      assert.equal(r.candidateKey, r.key)
      assert.match(
        r.why[0]!,
        /^the server's chain changed between the runs \(leaf .* re-issued with a new key \(RSA-2048\); new intermediate CN=Report Issuing CA 4096, O=tlsmatrix lab \(RSA-4096\) in place of CN=Report Issuing CA 2048, O=tlsmatrix lab \(RSA-2048\)\)$/,
      )
      assert.match(r.why[1]!, /RSA-4096/)
    }
    assert.deepEqual(m.diff!.chainChanged, [])
    // Named with its firmware in the Markdown diff and marked in the matrix.
    const md = readFileSync(join(dir, 'reports', 'matrix.md'), 'utf8')
    assert.match(
      md,
      /\| rotate\.report\.test:443 \| `SPWF04SA@1\.0\.0`: ✅ pass \| `SPWF04SA@1\.0\.0`: ❌ fail · key-unsupported \| the server/,
    )
    assert.match(md, /❌ fail · key-unsupported · \*\*▼ regressed\*\*/)
    assert.match(md, /^- ▼ \*\*2 regression\(s\)\*\*, 0 fix\(es\)/m)
    assert.ok(existsSync(join(dir, 'reports', 'matrix.md')))
    assert.ok(!existsSync(join(dir, 'reports', 'index.html')), 'only the formats asked for')
  } finally {
    lab.rotate('rotate.report.test', 0)
  }
})

test('every flag on the command line overrides the spec; --dry-run prints the plan and touches no database', async () => {
  const spec = join(dir, 'override.json')
  writeFileSync(spec, JSON.stringify(nightly({ db: 'never.db' })))
  const other = join(dir, 'other.db')
  const r = await cli(['run', '--spec', spec, '--db', other, '--device', 'emu:spwf01sa-3.5.3?no-dns', '--dry-run'])
  assert.equal(r.code, 0, r.err)
  const plan = JSON.parse(r.out) as {
    db: string
    devices: Array<{ label: string; url: string }>
    hosts: { targets: number }
    report: { failOn: string }
  }
  assert.equal(plan.db, other)
  assert.deepEqual(
    plan.devices.map((d) => d.url),
    ['emu:spwf01sa-3.5.3?no-dns'],
  )
  assert.equal(plan.hosts.targets, 5)
  assert.equal(plan.report.failOn, 'regression')
  assert.equal(existsSync(other), false)
  assert.equal(existsSync(join(dir, 'never.db')), false)
})

test('an invalid spec is refused with the JSON path of each problem (exit 2), nothing run', async () => {
  const spec = join(dir, 'bad.json')
  writeFileSync(
    spec,
    JSON.stringify({
      hosts: 'hosts.txt',
      devices: [{ url: '' }],
      report: { dir: 'r', failOn: 'sometimes', formats: ['pdf'] },
      concurency: 3,
    }),
  )
  const r = await cli(['run', '--spec', spec])
  assert.equal(r.code, 2)
  for (const path of ['$.devices.0.url', '$.report.failOn', '$.report.formats.0', '$: Unrecognized key: "concurency"'])
    assert.ok(r.err.includes(path), `${path} in ${r.err}`)
  const notJson = join(dir, 'broken.json')
  writeFileSync(notJson, '{ "hosts": ')
  const b = await cli(['run', '--spec', notJson])
  assert.equal(b.code, 2)
  assert.match(b.err, /not valid JSON/)
  assert.equal((await cli(['run', '--spec', join(dir, 'missing.json')])).code, 2)
  assert.equal((await cli(['run', '--spec', spec, '--resume', 'x'])).code, 2)
})

test('a spec that is not a regular file or is far too large is refused before it is read (exit 2)', async () => {
  const huge = join(dir, 'huge.json')
  writeFileSync(
    huge,
    JSON.stringify({ hosts: 'hosts.txt', devices: ['emu:spwf04sa-1.0.0'], label: 'a'.repeat(2 * 1024 * 1024) }),
  )
  const h = await cli(['run', '--spec', huge, '--dry-run'])
  assert.equal(h.code, 2)
  assert.match(h.err, /too large/)
  const d = await cli(['run', '--spec', dir, '--dry-run'])
  assert.equal(d.code, 2)
  assert.match(d.err, /not a regular file/)
})

test('the shipped examples are valid specs: a dry run accepts them (with an emulated module in place of /dev/ttyUSB0)', async () => {
  for (const name of ['nightly.json', 'release-gate.json']) {
    const r = await cli(['run', '--spec', join(EXAMPLES, name), '--device', 'emu:spwf04sa-1.1.0', '--dry-run'])
    assert.equal(r.code, 0, `${name}: ${r.err}`)
    const plan = JSON.parse(r.out) as { report: { failOn: string; diff: { baseline: string } } }
    assert.equal(plan.report.failOn, 'regression')
    assert.ok(plan.report.diff.baseline)
  }
  // As shipped they name a real module; on a machine without one, the device is the problem named.
  const bare = await cli(['run', '--spec', join(EXAMPLES, 'nightly.json'), '--dry-run'])
  assert.equal(bare.code, 2)
  assert.match(bare.err, /ttyUSB0/)
})

test("retention: runs older than the spec's days are deleted after a complete run, but the latest complete run of each firmware stays", async () => {
  // Two old nights with 1.0.0 and 1.1.0, then tonight with 1.1.0 only.
  const db = join(dir, 'retention.db')
  const spec = join(dir, 'retention.json')
  writeFileSync(spec, JSON.stringify(nightly({ db: 'retention.db', retention: { days: 30 }, report: undefined })))
  for (let i = 0; i < 2; i++) assert.ok([0, 1].includes((await cli(['run', '--spec', spec])).code))
  const d = new Database(db)
  const old = (d.prepare('SELECT id FROM runs ORDER BY started_at').all() as Array<{ id: string }>).map((r) => r.id)
  d.prepare("UPDATE runs SET started_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(old[0])
  d.prepare("UPDATE runs SET started_at = '2021-01-01T00:00:00.000Z' WHERE id = ?").run(old[1])
  d.close()
  const tonight = await cli(['run', '--spec', spec, '--device', 'new=emu:spwf04sa-1.1.0?no-dns'])
  assert.ok([0, 1].includes(tonight.code), tonight.err)
  assert.match(tonight.err, /retention \(30 days\): deleted 1 run\(s\)/)
  const after = new Database(db, { readonly: true })
  try {
    const ids = (after.prepare('SELECT id FROM runs ORDER BY started_at').all() as Array<{ id: string }>).map(
      (r) => r.id,
    )
    // The 2020 night goes; the 2021 night stays: it holds the latest complete 1.0.0 verdicts.
    assert.equal(ids.length, 2)
    assert.ok(!ids.includes(old[0]!) && ids.includes(old[1]!))
    assert.equal(
      (after.prepare('SELECT count(*) AS n FROM attempts WHERE run_id = ?').get(old[0]) as { n: number }).n,
      0,
    )
    assert.equal(
      (after.prepare('SELECT count(*) AS n FROM observations WHERE run_id = ?').get(old[0]) as { n: number }).n,
      0,
    )
  } finally {
    after.close()
  }
})

test('a device-time budget: once spent, the rest is recorded as not run (budget) and the run completes', async () => {
  const spec = join(dir, 'budget.json')
  writeFileSync(
    spec,
    JSON.stringify(
      nightly({ db: 'budget.db', deviceBudgetMinutes: 0, report: { dir: 'budget-reports', formats: ['json'] } }),
    ),
  )
  const r = await cli(['run', '--spec', spec, '--json'])
  assert.equal(r.code, 0, r.err)
  const j = JSON.parse(r.out) as {
    status: string
    attempts: Array<{ final: boolean; outcome: string; reason: { reason: string } | null }>
  }
  assert.equal(j.status, 'complete')
  const finals = j.attempts.filter((a) => a.final)
  assert.ok(finals.length > 0)
  // Nothing reached the module: every planned attempt says why.
  assert.ok(
    finals.every(
      (a) => a.outcome === 'not-run' && ['budget', 'no-anchor', 'untrusted-anchor'].includes(a.reason!.reason),
    ),
    JSON.stringify(finals.map((a) => a.reason)),
  )
  assert.ok(finals.some((a) => a.reason!.reason === 'budget'))
  // A generous budget changes nothing.
  const plenty = await cli(['run', '--spec', spec, '--json', '--device-budget-minutes', '600'])
  const p = JSON.parse(plenty.out) as typeof j
  assert.ok(!p.attempts.some((a) => a.reason?.reason === 'budget'))
  assert.ok(p.attempts.some((a) => a.final && a.outcome === 'pass'))
})

test('previous-run skips a night that holds no verdict (its device time budget all spent): tonight is compared with the last night that did', async () => {
  const spec = join(dir, 'skip-empty.json')
  writeFileSync(
    spec,
    JSON.stringify(
      nightly({
        db: 'skip-empty.db',
        devices: ['emu:spwf04sa-1.0.0?no-dns'],
        report: { dir: 'skip-empty-reports', formats: ['json'], baseline: 'previous-run' },
      }),
    ),
  )
  const real = await cli(['run', '--spec', spec, '--json'])
  const realId = (JSON.parse(real.out) as { runId: string }).runId
  const empty = await cli(['run', '--spec', spec, '--json', '--device-budget-minutes', '0'])
  assert.equal((JSON.parse(empty.out) as { status: string }).status, 'complete')
  await cli(['run', '--spec', spec, '--json'])
  const m = JSON.parse(readFileSync(join(dir, 'skip-empty-reports', 'report.json'), 'utf8')) as ReportModel
  assert.equal(m.diff!.baseline, `run:${realId}`)
})

test("--dry-run shows the rig the run would be stamped with: the spec's, the flag's over it, else the host name", async () => {
  const spec = join(dir, 'rig.json')
  writeFileSync(spec, JSON.stringify(nightly({ db: 'rig.db', rig: 'bench-a' })))
  const fromSpec = JSON.parse((await cli(['run', '--spec', spec, '--dry-run'])).out) as { rig: string }
  assert.equal(fromSpec.rig, 'bench-a')
  const fromFlag = JSON.parse((await cli(['run', '--spec', spec, '--dry-run', '--rig', 'bench-b'])).out) as {
    rig: string
  }
  assert.equal(fromFlag.rig, 'bench-b')
  assert.equal(existsSync(join(dir, 'rig.db')), false)
})

test('a spec run resumed after a stop ends as it was started: its report is written, with its gate', async () => {
  const spec = join(dir, 'resumed.json')
  writeFileSync(
    spec,
    JSON.stringify(nightly({ db: 'resumed.db', report: { dir: 'resumed-reports', formats: ['json'] } })),
  )
  const first = await cli(['run', '--spec', spec, '--json'])
  assert.ok([0, 1].includes(first.code), first.err)
  const runId = (JSON.parse(first.out) as { runId: string }).runId
  // As if stopped before ok.report.test was done: its verdicts gone, the run interrupted, no report yet.
  const d = new Database(join(dir, 'resumed.db'))
  d.prepare("DELETE FROM attempts WHERE run_id = ? AND host = 'ok.report.test'").run(runId)
  d.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?").run(runId)
  d.close()
  rmSync(join(dir, 'resumed-reports'), { recursive: true, force: true })
  const resumed = await cli(['run', '--resume', runId, '--db', join(dir, 'resumed.db')])
  assert.ok([0, 1].includes(resumed.code), resumed.err)
  const m = JSON.parse(readFileSync(join(dir, 'resumed-reports', 'report.json'), 'utf8')) as ReportModel
  assert.ok(m.cells.some((c) => c.host === 'ok.report.test' && c.verdict === 'pass'))
})
