import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

// An empty directory option used to mean the current directory: the report landed wherever
// the command was started. It is a usage error, found before the database is opened.
for (const args of [
  ['report', '--out', ''],
  ['report', '--out', '  '],
  ['run', '--hosts', 'hosts.txt', '--device', 'emu:spwf04sa-1.1.0', '--report', ''],
  ['demo', '--report', ''],
]) {
  test(`${args.join(' ')}: usage error naming the option, nothing written`, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tlsmatrix-out-empty-'))
    const io = testIo({ inProcess: true, cwd })
    const code = await run([...args, '--db', join(cwd, 'missing.db')], io)
    assert.equal(code, 2)
    assert.match(
      io.err(),
      /USAGE: option '--(out|report) <dir>' argument .* is invalid\. expected a directory, got an empty string/,
    )
    assert.deepEqual(readdirSync(cwd), [])
  })
}
