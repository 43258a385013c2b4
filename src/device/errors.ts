/**
 * Device-side error codes. A driver error is never a verdict about the TLS server: the runner
 * records it as the `device` class and decides whether to reset and retry.
 */
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
  | 'DEVICE_RESET_FAILED'
  | 'DEVICE_STOPPED'
  | 'TRANSPORT_INVALID'
  | 'TRANSPORT_OPEN_FAILED'
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_INVALID'
  | 'CA_TOO_LARGE'

export class DeviceError extends Error {
  override name = 'DeviceError'
  constructor(readonly code: DeviceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code)
}
