import { AppError, type DeviceErrorCode } from '../core/errors.js'

export type { DeviceErrorCode }

/**
 * Device-side errors share the tool's one base class and exit-code table. A driver error is
 * never a verdict about the TLS server: the runner records it as the `device` class and decides
 * whether to reset and retry.
 */
export class DeviceError extends AppError<DeviceErrorCode> {
  override name = 'DeviceError'
  /**
   * The module's lines that came with the failure (its answer to the command, lines read while
   * waiting): a refusal's lines are the module's word on what it refused, kept as evidence.
   */
  readonly lines: readonly string[]

  constructor(code: DeviceErrorCode, message: string, options: { cause?: unknown; lines?: readonly string[] } = {}) {
    super(code, message, 'cause' in options ? { cause: options.cause } : undefined)
    this.lines = options.lines ?? []
  }

  /** The same error carrying `lines` (a caller that read more of the answer than the channel did). */
  withLines(lines: readonly string[]): DeviceError {
    const e = new DeviceError(this.code, this.message, { ...('cause' in this ? { cause: this.cause } : {}), lines })
    e.stack = this.stack
    return e
  }
}

export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code)
}
