import './private-locks.js'
import type { Io } from '../../src/cli/io.js'
import { inProcessEmulator } from '../../src/families/in-process.js'

export interface TestIo extends Io {
  out(): string
  err(): string
}

/**
 * An Io that records output; `interrupt()` plays the user's Ctrl-C. With `inProcess`, the module
 * behind an `emu:` URL is emulated in this process (src/emulator/in-process.ts): the same bytes
 * through the same Transport, without starting `node` + `tsx` + a pseudo-terminal per module or
 * pacing bytes at the baud rate. For tests about logic; end-to-end tests leave it off.
 */
export function testIo(
  opts: { cwd?: string; tty?: boolean; stopGraceMs?: number; inProcess?: boolean } = {},
): TestIo & { interrupt(): void } {
  let out = ''
  let err = ''
  let interrupt = () => {}
  const interrupted = new Promise<void>((r) => {
    interrupt = r
  })
  return {
    stdout: {
      write: (s: string) => {
        out += s
      },
    },
    stderr: {
      write: (s: string) => {
        err += s
      },
      isTTY: opts.tty ?? false,
      columns: 100,
    },
    env: {},
    cwd: opts.cwd ?? process.cwd(),
    interrupted,
    ...(opts.stopGraceMs !== undefined ? { stopGraceMs: opts.stopGraceMs } : {}),
    ...(opts.inProcess ? { emulator: inProcessEmulator } : {}),
    out: () => out,
    err: () => err,
    interrupt: () => interrupt(),
  }
}
