#!/usr/bin/env node
import { asAppError } from '../core/system-errors.js'
import { run } from './run.js'

// An error thrown outside a command's promise (an 'error' event nobody listens to) still gets a
// code and a message, never a stack trace; the process state is unknown after it, so it leaves.
const crashed = (err: unknown) => {
  const e = asAppError(err)
  process.stderr.write(`tlsmatrix: ${e.code}: ${e.message}\n`)
  if (process.env.TLSMATRIX_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  // eslint-disable-next-line no-restricted-properties -- nothing can be trusted to close after an uncaught error
  process.exit(e.exitCode)
}
// `tlsmatrix … | head -1`: the reader left. What was done is recorded; the rest of the output has
// nobody to read it, so it is dropped quietly (as other Unix tools end on SIGPIPE), and the exit
// code stays the command's own.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') crashed(err)
  })
}
process.on('uncaughtException', crashed)
process.on('unhandledRejection', crashed)

// The first Ctrl-C (or SIGTERM) asks the command to stop; a second one leaves now, after the
// command's insist handler has recorded what it must (a run marked interrupted, the resume hint).
let signals = 0
let insist: (() => number) | null = null
let interrupt = () => {}
const interrupted = new Promise<void>((resolve) => {
  interrupt = resolve
})
const onSignal = (signal: NodeJS.Signals) => {
  signals++
  if (signals === 1) return interrupt()
  // Before the command has said what to record, a second Ctrl-C still ends `run`, `resolve` and
  // `probe` as interrupted work (exit 3, README); other commands leave as the shell expects.
  let code = ['run', 'resolve', 'probe'].includes(process.argv[2] ?? '') ? 3 : signal === 'SIGINT' ? 130 : 143
  try {
    if (insist) code = insist()
  } finally {
    // eslint-disable-next-line no-restricted-properties -- the user insisted: leave without waiting for work in flight
    process.exit(code)
  }
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

// `emulate --exit-with-stdin` (used by emu: devices) ends when its parent's pipe closes.
const stdinClosed = process.argv.includes('--exit-with-stdin')
  ? new Promise<void>((resolve) => {
      process.stdin
        .on('end', resolve)
        .on('close', resolve)
        .on('error', () => resolve())
      process.stdin.resume()
    })
  : undefined
const commandCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  interrupted,
  onInsist: (handler) => {
    insist = handler
  },
  ...(stdinClosed ? { stdinClosed } : {}),
})
process.exitCode = commandCode
if (stdinClosed) process.stdin.destroy()
// No forced exit: every command closes what it opened, so the process ends by itself. The signal
// listeners do not hold it open. A Ctrl-C while it closes (stalled sockets) leaves with the code
// the command already chose (3 for an interrupted run or resolve), not the shell's 130.
insist = () => commandCode
