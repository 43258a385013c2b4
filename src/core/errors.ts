/**
 * One error taxonomy for the whole tool. Callers branch on `code`, never on the message,
 * so messages can improve without breaking scripts or tests. Every code has one exit code,
 * in EXIT_CODES below (the README's "Exit codes" table is this table).
 */

/** Codes raised by the device layer (AT channel, drivers, transports, profiles). */
export type DeviceErrorCode =
  | 'AT_INVALID_FIELD'
  | 'AT_TIMEOUT'
  | 'AT_ERROR'
  | 'AT_GARBAGE'
  | 'AT_CLOSED'
  | 'AT_BUSY'
  | 'AT_REBOOTED'
  | 'DEVICE_UNKNOWN'
  | 'DEVICE_BUSY'
  | 'LOCK_DIR_UNSAFE'
  | 'DEVICE_RESET_FAILED'
  | 'DEVICE_STOPPED'
  | 'TRANSPORT_INVALID'
  | 'TRANSPORT_OPEN_FAILED'
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_INVALID'
  | 'CA_TOO_LARGE'
  | 'CA_INVALID'

export type ErrorCode =
  | 'USAGE'
  | 'HOSTS_INVALID'
  | 'RESOLVE_MAP_INVALID'
  | 'TRUST_STORE_INVALID'
  | 'HELLO_INVALID'
  | 'LAB_SPEC_INVALID'
  | 'LAB_PORT_IN_USE'
  | 'ADDRESS_IN_USE'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'STORE_TOO_NEW'
  | 'STORE_FOREIGN'
  | 'STORE_UNUSABLE'
  | 'RUN_NOT_RESUMABLE'
  | 'HOSTS_CHANGED'
  | 'MERGE_CONFLICT'
  | 'LEARN_LAB_UNREACHABLE'
  | 'REPORT_NO_DATA'
  | 'REPORT_WRITE_FAILED'
  | 'AIA_REFUSED'
  | 'AIA_FAILED'
  | 'FINDINGS'
  | 'INTERRUPTED'
  | 'DEVICE_LOST'
  | 'INTERNAL'
  | 'NOT_A_CLIENT_HELLO'
  | DeviceErrorCode

/** 0 ok, 1 findings, 2 usage or input (nothing contacted), 3 device lost or interrupted. */
export type ExitCode = 0 | 1 | 2 | 3

export const EXIT_CODES: Readonly<Record<ErrorCode, ExitCode>> = {
  USAGE: 2,
  HOSTS_INVALID: 2,
  RESOLVE_MAP_INVALID: 2,
  TRUST_STORE_INVALID: 2,
  HELLO_INVALID: 2,
  LAB_SPEC_INVALID: 2,
  LAB_PORT_IN_USE: 2,
  ADDRESS_IN_USE: 2,
  STORE_LOCKED: 2,
  STORE_CORRUPT: 2,
  STORE_TOO_NEW: 2,
  STORE_FOREIGN: 2,
  STORE_UNUSABLE: 2,
  RUN_NOT_RESUMABLE: 2,
  HOSTS_CHANGED: 2,
  MERGE_CONFLICT: 2,
  LEARN_LAB_UNREACHABLE: 2,
  REPORT_NO_DATA: 2,
  REPORT_WRITE_FAILED: 2,
  AIA_REFUSED: 1,
  AIA_FAILED: 1,
  FINDINGS: 1,
  INTERRUPTED: 3,
  DEVICE_LOST: 3,
  // A bug of ours still gets a documented code: the run could not finish what it promised.
  INTERNAL: 3,
  // What a device under `learn` sent was not a ClientHello: the run cannot learn from it.
  NOT_A_CLIENT_HELLO: 3,
  AT_INVALID_FIELD: 2,
  AT_TIMEOUT: 3,
  AT_ERROR: 3,
  AT_GARBAGE: 3,
  AT_CLOSED: 3,
  AT_BUSY: 3,
  AT_REBOOTED: 3,
  DEVICE_UNKNOWN: 3,
  DEVICE_BUSY: 2,
  // The device lock directory is not this user's alone: nothing was opened.
  LOCK_DIR_UNSAFE: 2,
  DEVICE_RESET_FAILED: 3,
  DEVICE_STOPPED: 3,
  TRANSPORT_INVALID: 2,
  TRANSPORT_OPEN_FAILED: 3,
  PROFILE_NOT_FOUND: 2,
  PROFILE_INVALID: 2,
  CA_TOO_LARGE: 2,
  CA_INVALID: 2,
}

export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'AppError'
  readonly code: C
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  get exitCode(): ExitCode {
    return EXIT_CODES[this.code]
  }
}

/**
 * An outcome the command already reported (findings, an interrupted run): the CLI only turns it
 * into its exit code, printing the message when there is one.
 */
export function outcome(code: 'FINDINGS' | 'INTERRUPTED' | 'DEVICE_LOST', message = ''): AppError {
  return new AppError(code, message)
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code)
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
