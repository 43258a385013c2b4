import type { EmulatorOpener } from '../device/index.js'

/** The console, injected so commands run in tests without touching process.* (certigo's Terminal). */
export interface Io {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  cwd: string
  /** Resolves when the user asks to stop (the first Ctrl-C); commands stop new work. */
  interrupted: Promise<void>
  /**
   * After `interrupted`, how long a device request in flight may still take before it is
   * abandoned (default: the survey's STOP_GRACE_MS); tests shorten it so as not to wait it out.
   */
  stopGraceMs?: number
  /**
   * What to do when the user insists (a second Ctrl-C): the handler runs synchronously, records
   * what it must and returns the exit code; then the process leaves without waiting for work in
   * flight. The last handler registered wins.
   */
  onInsist?: (handler: () => number) => void
  /** Resolves when standard input closes, when it is a pipe (the emulator's parent is gone). */
  stdinClosed?: Promise<void>
  /**
   * What starts the module behind an `emu:` URL. Absent (the CLI): a `tlsmatrix emulate` process
   * on a pseudo-terminal, as users run it. Tests about logic give the in-process emulator
   * (test/helpers/io.ts): the same bytes through the same Transport, without a process or pacing.
   */
  emulator?: EmulatorOpener
}
