import type { EmulatorOpener } from '../device/index.js'
/**
 * What a job needs of the console it runs under: where relative paths start, and the user's
 * Ctrl-C. The CLI's `Io` extends it with the streams a command formats its result on; a job
 * writes nothing itself (it returns data and reports events).
 */
export interface JobIo {
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
  /**
   * What starts the module behind an `emu:` URL. Absent (the CLI): a `tlsmatrix emulate` process
   * on a pseudo-terminal, as users run it. Tests about logic give the in-process emulator
   * (test/helpers/io.ts): the same bytes through the same Transport, without a process or pacing.
   */
  emulator?: EmulatorOpener
}
