/** The console, injected so commands run in tests without touching process.* (certigo's Terminal). */
export interface Io {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  cwd: string
  /** Resolves when the user asks to stop (Ctrl-C); commands that serve until stopped await it. */
  interrupted: Promise<void>
  /** Resolves when standard input closes, when it is a pipe (the emulator's parent is gone). */
  stdinClosed?: Promise<void>
}
