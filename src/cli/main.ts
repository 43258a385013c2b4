#!/usr/bin/env node
import { once } from 'node:events'
import { run } from './run.js'

const interrupted = Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(() => undefined)
// `emulate --exit-with-stdin` (used by emu: devices) ends when its parent's pipe closes.
const stdinClosed = process.argv.includes('--exit-with-stdin') ? new Promise<void>((resolve) => {
  process.stdin.on('end', resolve).on('close', resolve).on('error', () => resolve())
  process.stdin.resume()
}) : undefined
process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), interrupted, ...(stdinClosed ? { stdinClosed } : {}) })
if (stdinClosed) process.stdin.destroy()
// A lingering handle (a half-closed socket) must not keep a finished cron job alive.
// eslint-disable-next-line no-restricted-properties -- the one place allowed to end the process
setTimeout(() => process.exit(), 2000).unref()
