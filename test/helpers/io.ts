import './private-locks.js'
import type { Io } from '../../src/cli/io.js'

export interface TestIo extends Io {
  out(): string
  err(): string
}

/** An Io that records output; `interrupt()` plays the user's Ctrl-C. */
export function testIo(
  opts: { cwd?: string; tty?: boolean; stopGraceMs?: number } = {},
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
    out: () => out,
    err: () => err,
    interrupt: () => interrupt(),
  }
}
