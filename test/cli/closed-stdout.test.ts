import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { MAIN } from '../helpers/spawn-cli.js'

/**
 * `tlsmatrix … | head -1`: the reader leaves early; the writer ends quietly, like other Unix tools.
 * End to end, with a process: a real closed pipe on the process's stdout (EPIPE) is the case.
 */
test("writing to a closed stdout ends quietly: no INTERNAL, the command's own exit code", async () => {
  const child = spawn(process.execPath, [...process.execArgv, MAIN, 'run', '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.destroy() // the reading end is gone before the CLI writes a byte
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const code = await new Promise<number | string>((resolve) =>
    child.once('close', (c, s) => resolve(c ?? s ?? 'unknown')),
  )
  assert.doesNotMatch(err, /INTERNAL|EPIPE/)
  assert.equal(code, 0)
})
