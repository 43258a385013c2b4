import { DeviceError } from '../errors.js'

/**
 * Every value placed in an AT command passes here first. A CR or LF would end the command and
 * start another, a comma would shift the positional fields, a NUL may truncate the line in the
 * module's parser: all are refused, never sent.
 */
export function atField(name: string, value: string, opts: { max: number; allowEmpty?: boolean }): string {
  if (value.length === 0 && !opts.allowEmpty) throw new DeviceError('AT_INVALID_FIELD', `${name} is empty`)
  if (value.length > opts.max)
    throw new DeviceError(
      'AT_INVALID_FIELD',
      `${name} is ${value.length} characters, the module takes at most ${opts.max}`,
    )
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const bad = /[\x00-\x1f\x7f,]|[^\x00-\x7e]/.exec(value)
  if (bad) {
    const c = bad[0].charCodeAt(0)
    const what =
      c === 13 ? 'CR' : c === 10 ? 'LF' : c === 0 ? 'NUL' : bad[0] === ',' ? 'a comma' : `character 0x${c.toString(16)}`
    throw new DeviceError(
      'AT_INVALID_FIELD',
      `${name} contains ${what}, which would change the AT command; refused, nothing sent`,
    )
  }
  return value
}

export function atPort(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new DeviceError('AT_INVALID_FIELD', `port ${port} is outside 1-65535`)
  return String(port)
}

/** A request path: an AT field that also goes in the module's HTTP request line, where a space would split it. */
export function atPath(path: string, max: number): string {
  const value = atField('path', path, { max })
  if (!value.startsWith('/') || value.includes(' '))
    throw new DeviceError(
      'AT_INVALID_FIELD',
      'path must start with / and hold no space (it goes in the HTTP request line); refused, nothing sent',
    )
  return value
}
