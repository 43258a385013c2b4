import { AppError, type DeviceErrorCode } from '../core/errors.js'

export type { DeviceErrorCode }

/**
 * Device-side errors share the tool's one base class and exit-code table. A driver error is
 * never a verdict about the TLS server: the runner records it as the `device` class and decides
 * whether to reset and retry.
 */
export class DeviceError extends AppError<DeviceErrorCode> {
  override name = 'DeviceError'
}

export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code)
}
