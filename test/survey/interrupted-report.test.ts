import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CertCache, loadTrustStore } from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import { parseHosts } from '../../src/hosts/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { runSurvey } from '../../src/pipeline/index.js'
import { buildMatrix, matrixText } from '../../src/report/index.js'
import { buildReport } from '../../src/report/model/build.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { HistoryStore, ObservationStore, openDb, RunStore } from '../../src/store/index.js'
import { inProcessEmulator } from '../../src/families/in-process.js'
import { labSurveyInput, startTestLab } from '../helpers/lab.js'

// ecdsa.basic.test fails on the SPWF04SA 1.0.0 (no ECDSA) with each of its two candidate CAs (the
// intermediate and the root). A run stopped after the first of them has one fail and one CA never
// tried: the report must not call that a fail, nor say the module does not reach the target.
describe('an interrupted run: its unfinished cells are incomplete, never fail, and make no statement', () => {
  let lab: RunningLab
  let dir: string
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-interrupted-'))
  })
  after(async () => lab.close())

  /** One survey of ecdsa.basic.test; `stopAfterFirst` plays Ctrl-C once its first verdict is recorded. */
  const survey = async (
    name: string,
    stopAfterFirst: boolean,
  ): Promise<{ status: string; model: ReportModel; matrix: string }> => {
    const port = lab.hosts.find((h) => h.name === 'ecdsa.basic.test')!.port
    const hostsText = `ecdsa.basic.test:${port}`
    const { targets } = parseHosts(hostsText, 'test')
    const cache = new CertCache()
    const store = await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache)
    const dbPath = join(dir, `${name}.db`)
    const db = openDb(dbPath)
    const input = labSurveyInput(lab, { targets, hostsText, store, cache, device: 'emu:spwf04sa-1.0.0?no-dns' })
    let stop = false
    try {
      const r = await runSurvey(input, {
        observations: new ObservationStore(db, dbPath),
        runs: new RunStore(db, dbPath),
        clock: systemClock,
        emulator: inProcessEmulator,
        // Checked before every group and every attempt: the worker stops right after this verdict.
        stopping: () => stop,
        observer: {
          onAttempt: (_l, _d, _t, _i, a) => {
            if (stopAfterFirst && a.final && a.outcome !== 'not-run') stop = true
          },
        },
      })
      const model = await buildReport(new HistoryStore(db), {
        runs: [],
        baseline: null,
        candidate: null,
        tags: [],
        expiryDays: 90,
        title: null,
        now: new Date(),
      })
      // What `run` prints at its end: the same run's matrix, from its attempts and stored plan.
      const runs = new RunStore(db, dbPath)
      const matrix = buildMatrix(
        r.devices,
        runs.attempts(r.runId),
        targets.map((t) => t.id),
        r.status === 'complete' ? null : { plan: runs.getRun(r.runId)!.plan },
      )
      return { status: r.status, model, matrix: matrixText(matrix) }
    } finally {
      db.close()
    }
  }

  test('complete: both CAs fail, the cell fails and the statement says the module does not reach it', async () => {
    const { status, model, matrix } = await survey('complete', false)
    assert.equal(status, 'complete')
    assert.match(matrix, /FAIL handshake x2/)
    const cell = model.cells[0]!
    assert.equal(cell.verdict, 'fail')
    assert.equal(cell.complete, true)
    assert.equal(cell.anchors.failed.length, 2)
    assert.deepEqual(
      model.statements.map((s) => s.text),
      [`SPWF04SA does not reach ${cell.target} on 1.0.0, the only firmware surveyed`],
    )
  })

  test('interrupted after the first CA: the cell is incomplete (not run), names the CA left, and no statement is made', async () => {
    const { status, model, matrix } = await survey('interrupted', true)
    assert.equal(status, 'interrupted')
    assert.match(matrix, /incomplete: FAIL handshake, 1 CA\(s\) not judged/)
    assert.doesNotMatch(matrix, /^\S+ +FAIL/m)
    const cell = model.cells[0]!
    assert.equal(cell.anchors.failed.length, 1, 'one CA was judged')
    assert.equal(cell.verdict, 'not-run')
    assert.equal(cell.class, null)
    assert.equal(cell.complete, false)
    assert.equal(cell.notRun?.reason, 'incomplete')
    assert.match(
      cell.notRun.detail,
      /1 of 2 planned CA\(s\) without the module's word: .*not tried: the run was interrupted/,
    )
    assert.match(
      cell.why[0]!,
      /^incomplete: the module failed with .* \(handshake\), but not every planned CA was tried/,
    )
    assert.deepEqual(model.statements, [])
  })
})
