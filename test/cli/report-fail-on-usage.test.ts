import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

// --fail-on regression without a diff was found only after every file was written (exit 2 with
// a report on disk); it is a usage error found first, whatever the database.
test('report --fail-on regression without --baseline/--candidate: USAGE before the database is read, nothing written', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tlsmatrix-failon-'))
  const io = testIo({ cwd })
  const code = await run(
    [
      'report',
      '--db',
      join(cwd, 'missing.db'),
      '--out',
      join(cwd, 'out'),
      '--fail-on',
      'regression',
      '--baseline',
      'SPWF04SA@1.0.0',
    ],
    io,
  )
  assert.equal(code, 2)
  assert.match(io.err(), /tlsmatrix: USAGE: --fail-on regression needs --baseline and --candidate/)
  assert.deepEqual(readdirSync(cwd), [])
})
