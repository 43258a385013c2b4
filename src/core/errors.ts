/**
 * One error taxonomy for the whole tool. Callers branch on `code`, never on the message,
 * so messages can improve without breaking scripts or tests.
 */
export type ErrorCode =
  | 'USAGE'
  | 'HOSTS_INVALID'
  | 'RESOLVE_MAP_INVALID'
  | 'TRUST_STORE_INVALID'
  | 'LAB_SPEC_INVALID'
  | 'LAB_PORT_IN_USE'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'STORE_TOO_NEW'
  | 'AIA_REFUSED'
  | 'AIA_FAILED'
  | 'INTERNAL'

export class AppError extends Error {
  override name = 'AppError'
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A command that wants a specific exit code throws this; only the CLI entry point turns it into one. */
export class ExitError extends Error {
  override name = 'ExitError'
  constructor(readonly exitCode: number, message = '', readonly failedTargets?: string[]) {
    super(message)
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code)
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
