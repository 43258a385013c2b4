/** A byte pipe to a module: serial port, TCP (ser2net) or an emulator's pseudo-terminal. */
export interface Transport {
  /** Human description: the port path or URL. */
  readonly describe: string
  write(data: Buffer): Promise<void>
  onData(cb: (chunk: Buffer) => void): void
  onClose(cb: (err?: Error) => void): void
  /**
   * Diagnostics from beside the line (an emulator's own errors), kept as transcript notes. A real
   * port has none; nothing may decide a verdict from them.
   */
  onNote?(cb: (text: string) => void): void
  close(): Promise<void>
}
