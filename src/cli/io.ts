import type { JobIo } from '../jobs/io.js'

/** The console, injected so commands run in tests without touching process.* (certigo's Terminal). */
export interface Io extends JobIo {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  /** Resolves when standard input closes, when it is a pipe (the emulator's parent is gone). */
  stdinClosed?: Promise<void>
}
