import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { openDb } from '../../src/store/index.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'
import { learnRun } from '../store/learn-fixture.js'

const LAB = fileURLToPath(new URL('../fixtures/lab/report.json', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-report-learn-'))
const db = join(dir, 'history.db')
const spec = join(dir, 'nightly.json')
const LEARN = '20261128-120000-1ea7'
let lab: RunningLab
const surveys: string[] = []
/** The survey target a learn probe is (on purpose) named after, and the verdict the survey gave it. */
let shared: { target: string; outcome: string }

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo({ inProcess: true, cwd: dir })
  const code = await run(args, io)
  return { code, out: io.out(), err: io.err() }
}

async function survey(): Promise<string> {
  const r = await cli(['run', '--spec', spec, '--json'])
  // The SHA-1 must-reject target may pass: a finding (exit 1); the run is complete either way.
  assert.ok(r.code === 0 || r.code === 1, r.err)
  const out = JSON.parse(r.out) as { runId: string; status: string }
  assert.equal(out.status, 'complete')
  return out.runId
}

before(async () => {
  lab = await startTestLab(LAB, { outDir: dir })
  writeFileSync(
    spec,
    JSON.stringify({
      hosts: lab.hostsFile,
      devices: ['emu:spwf04sa-1.1.0?no-dns'],
      db,
      trustStore: [lab.trustStoreFile],
      trustStoreOnly: true,
      connectTo: lab.connectToEntries,
      resolve: lab.resolveEntries,
      report: { dir: 'nightly-report', formats: ['json'], baseline: 'previous-run' },
    }),
  )
  surveys.push(await survey())
  // Between two nights, a learn run of the same firmware, complete and newer than the first survey:
  // one probe named like a survey target, with the other verdict, one probe of its own.
  const h = openDb(db)
  try {
    const verdicts = h
      .prepare(
        "SELECT target, outcome FROM attempts WHERE run_id = ? AND final = 1 AND outcome IN ('pass', 'fail') ORDER BY id",
      )
      .all(surveys[0]) as Array<{ target: string; outcome: string }>
    shared = verdicts[0]!
    learnRun(
      h,
      db,
      LEARN,
      {
        startedAt: new Date().toISOString(),
        targets: [
          { id: 'probe-rsa-4096', host: '127.0.0.1', port: 4433, path: '/', tags: ['learn'], expect: null, line: 1 },
        ],
      },
      [
        { probe: 'probe-rsa-4096', outcome: 'fail', class: 'untrusted' },
        {
          probe: shared.target,
          outcome: shared.outcome === 'pass' ? 'fail' : 'pass',
          class: shared.outcome === 'pass' ? 'untrusted' : null,
        },
      ],
    )
  } finally {
    h.close()
  }
  surveys.push(await survey())
})

after(async () => {
  await lab?.close()
})

test('previous-run is the last survey, never a learn run made since', () => {
  const m = JSON.parse(readFileSync(join(dir, 'nightly-report', 'report.json'), 'utf8')) as ReportModel
  assert.equal(m.diff?.baseline, `run:${surveys[0]}`)
  assert.equal(m.diff?.candidate, `run:${surveys[1]}`)
})

test("the report shows the surveys' targets and verdicts only: a newer learn run adds no row, no run, no verdict", async () => {
  const out = join(dir, 'all')
  const r = await cli(['report', '--db', db, '--format', 'json', '--out', out])
  assert.equal(r.code, 0, r.err)
  const m = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel
  const hosts = readFileSync(lab.hostsFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#')).length
  assert.equal(m.targets.length, hosts)
  assert.ok(!m.targets.some((t) => t.target.startsWith('probe-')), m.targets.map((t) => t.target).join(', '))
  assert.deepEqual(
    m.runs.map((x) => x.id),
    [surveys[1]],
  )
  const cell = m.cells.find((c) => c.target === shared.target)
  assert.equal(cell?.verdict, shared.outcome)
  assert.equal(cell?.runId, surveys[1])
})

test('report --run or a run: selector naming a learn run is a usage error that says so', async () => {
  const byRun = await cli(['report', '--db', db, '--run', LEARN, '--format', 'json', '--out', join(dir, 'nope')])
  assert.equal(byRun.code, 2)
  assert.match(byRun.err, new RegExp(`USAGE: --run ${LEARN}: run ${LEARN} is a learn run`))
  const bySel = await cli([
    'report',
    '--db',
    db,
    '--baseline',
    `run:${LEARN}`,
    '--candidate',
    `run:${surveys[1]}`,
    '--format',
    'json',
    '--out',
    join(dir, 'nope'),
  ])
  assert.equal(bySel.code, 2)
  assert.match(bySel.err, new RegExp(`USAGE: run:${LEARN}: run ${LEARN} is a learn run`))
  // A survey's id still reports.
  const ok = await cli(['report', '--db', db, '--run', surveys[0]!, '--format', 'json', '--out', join(dir, 'first')])
  assert.equal(ok.code, 0, ok.err)
})
