import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

// A new user's trial saw, once in about twenty tries, a SIGINT to `tlsmatrix demo` at 1.5 s
// ignored: no "stopping" line, every verdict, exit 0. One suspected window: the interrupt arriving
// before the demo's run session watches for it (while the lab starts). A watch registered after the
// interrupt must still see it: the demo stops before any verdict, says so, and exits 3.
test('demo: a Ctrl-C that came before the session started watching still stops it (exit 3, no verdict)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-demo-early-'))
  try {
    const io = testIo({ inProcess: true })
    // The user's Ctrl-C, before the command has even started its lab.
    io.interrupt()
    const code = await run(['demo', '--db', join(dir, 'demo.db'), '--json', '--report', join(dir, 'r')], io)
    assert.equal(code, 3, io.err())
    assert.match(io.err(), /stopping:/)
    assert.doesNotMatch(io.out(), /"outcome": "(pass|fail)"/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
