import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { openDb } from '../../src/store/index.js'
import { testIo } from '../helpers/io.js'

const SITES = [
  'ghi-test-iot.azure-devices.net:443',
  'meta.stackexchange.com:443',
  'www.amazon.com:443',
  'www.ebay.com:443',
  'www.ssllabs.com:443',
]

test('two demo runs in one database name the same targets (real names, port 443), served the same chains: history accumulates, no chain changed', async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'tlsmatrix-demo-history-')), 'demo.db')
  const runs: string[] = []
  const errs: string[] = []
  for (let i = 0; i < 2; i++) {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['demo', '--db', db, '--json', '--report', join(db, '..', `reports-${i}`)], io), 0, io.err())
    errs.push(io.err())
    const j = JSON.parse(io.out()) as { runId: string; attempts: Array<{ target: string; port: number }> }
    assert.deepEqual([...new Set(j.attempts.map((a) => a.target))].sort(), SITES)
    assert.ok(j.attempts.every((a) => a.port === 443))
    runs.push(j.runId)
  }
  assert.notEqual(runs[0], runs[1])
  const d = openDb(db)
  try {
    // Each site has verdicts from both runs under one target id, and nothing on a one-off port.
    const rows = d
      .prepare('SELECT target, count(DISTINCT run_id) AS runs FROM attempts GROUP BY target ORDER BY target')
      .all() as Array<{ target: string; runs: number }>
    assert.deepEqual(
      rows,
      SITES.map((target) => ({ target, runs: 2 })),
    )
    const observed = d.prepare('SELECT DISTINCT target FROM observations ORDER BY target').all() as Array<{
      target: string
    }>
    assert.deepEqual(
      observed.map((r) => r.target),
      SITES,
    )
    // The second demo's lab served the first one's certificates: one chain per site, so the
    // report of the second demo has no chain change to tell (the lab did not re-issue anything).
    const chains = d
      .prepare('SELECT target, count(DISTINCT chain_hash) AS chains FROM observations GROUP BY target ORDER BY target')
      .all() as Array<{ target: string; chains: number }>
    assert.deepEqual(
      chains,
      SITES.map((target) => ({ target, chains: 1 })),
    )
  } finally {
    d.close()
  }
  assert.doesNotMatch(errs[1]!, /changed chain/)
  assert.doesNotMatch(readFileSync(join(db, '..', 'reports-1', 'matrix.md'), 'utf8'), /## Chain changes/)
})
