import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-demo-options-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

test('demo --device-budget-minutes 0 reaches the survey: every planned attempt is not run (budget), no verdict', async () => {
  const io = testIo()
  const code = await run(
    ['demo', '--device-budget-minutes', '0', '--json', '--db', join(dir, 'budget.db'), '--report', join(dir, 'r')],
    io,
  )
  assert.equal(code, 0, io.err())
  const j = JSON.parse(io.out()) as {
    status: string
    attempts: Array<{ final: boolean; outcome: string; reason: { reason: string } | null }>
  }
  assert.equal(j.status, 'complete')
  const finals = j.attempts.filter((a) => a.final)
  assert.ok(finals.length > 0)
  // Before the fix the demo dropped the option: 36 verdicts, none not run.
  assert.deepEqual(
    finals.filter((a) => a.outcome !== 'not-run'),
    [],
  )
  assert.ok(
    finals.every((a) => ['budget', 'no-anchor', 'untrusted-anchor'].includes(a.reason?.reason ?? '')),
    JSON.stringify(finals.map((a) => a.reason)),
  )
  assert.ok(finals.some((a) => a.reason?.reason === 'budget'))
})

test('lab and demo refuse the old --spec, naming --lab-spec (exit 2), before any lab starts', async () => {
  for (const argv of [
    ['lab', '--spec', 'data/lab/basic.json', '--out', join(dir, 'lab-out')],
    ['demo', '--spec', 'data/lab/field-report.json', '--db', join(dir, 'spec.db'), '--report', join(dir, 'spec-r')],
  ]) {
    const io = testIo()
    assert.equal(await run(argv, io), 2, argv.join(' '))
    assert.match(io.err(), /^tlsmatrix: USAGE: (lab|demo) --spec: the lab spec is given as --lab-spec FILE now/)
    assert.equal(io.out(), '')
  }
  // Nothing was started or written.
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('spec') || f === 'lab-out'),
    [],
  )
  // lab without a spec says which flag it needs.
  const io = testIo()
  assert.equal(await run(['lab'], io), 2)
  assert.match(io.err(), /lab needs --lab-spec FILE/)
})
