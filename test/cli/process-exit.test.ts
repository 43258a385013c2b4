import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'

// End to end, with a process: what is tested is that the process itself leaves (no handle left open).
test('a port in use is a clear message and exit 2 (no stack trace), and the process leaves by itself', async () => {
  const holder = createServer()
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r))
  try {
    const port = (holder.address() as { port: number }).port
    const c = spawnCli(['emulate', '--firmware', 'spwf04sa-1.1.0', '--listen', `tcp://127.0.0.1:${port}`])
    // main.ts forces no exit: a handle left open would keep this child alive and fail the wait.
    assert.equal(await exitOf(c), 2, c.stderr())
    assert.match(c.stderr(), new RegExp(`ADDRESS_IN_USE: 127\\.0\\.0\\.1:${port} is already in use`))
    assert.doesNotMatch(c.stderr(), /\n\s+at /, 'no stack trace')
  } finally {
    holder.close()
  }
})
