import { DeviceError } from '../../device/errors.js'

/** A command line is at most 256 bytes including its CR LF (reference §1 Command line). */
export const MAX_COMMAND_LINE = 256

/** CIPSTART's host and (v2.4–v4.1) CIPSSLCSNI/CCN take at most 64 characters (reference §2.3, §3.1). */
export const MAX_HOST = 64

/**
 * A quoted string parameter: `\`, `"` and `,` are escaped with a backslash, as the parser expects
 * (reference §1); CR, LF, NUL and any other control or non-ASCII byte are refused, never sent,
 * because a CR LF would end the command and a NUL may cut it in the module's parser.
 */
export function quoted(name: string, value: string, opts: { max: number; allowEmpty?: boolean }): string {
  if (value.length === 0 && !opts.allowEmpty) throw new DeviceError('AT_INVALID_FIELD', `${name} is empty`)
  if (value.length > opts.max)
    throw new DeviceError(
      'AT_INVALID_FIELD',
      `${name} is ${value.length} characters, the module takes at most ${opts.max}`,
    )
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const bad = /[\x00-\x1f\x7f]|[^\x00-\x7e]/.exec(value)
  if (bad) {
    const c = bad[0].charCodeAt(0)
    const what = c === 13 ? 'CR' : c === 10 ? 'LF' : c === 0 ? 'NUL' : `character 0x${c.toString(16)}`
    throw new DeviceError(
      'AT_INVALID_FIELD',
      `${name} contains ${what}, which would change the AT command; refused, nothing sent`,
    )
  }
  return `"${value.replace(/[\\",]/g, (ch) => `\\${ch}`)}"`
}

/** The parser's view of a quoted parameter: the escapes undone (the emulator's side of `quoted`). */
export function unquote(field: string): string | null {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(field)
  return m ? m[1]!.replace(/\\(.)/g, '$1') : null
}

/** Refuses a command the module would not read whole. */
export function commandLine(text: string): string {
  if (text.length + 2 > MAX_COMMAND_LINE)
    throw new DeviceError(
      'AT_INVALID_FIELD',
      `command is ${text.length + 2} bytes with its CR LF; ESP-AT takes at most ${MAX_COMMAND_LINE}`,
    )
  return text
}

/**
 * Splits a parameter list at the commas outside quotes, honouring backslash escapes inside them:
 * `"a\,b",1,,"c"` → [`"a\,b"`, `1`, ``, `"c"`].
 */
export function splitParams(text: string): string[] {
  const out: string[] = []
  let cur = ''
  let inQuote = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inQuote && c === '\\' && i + 1 < text.length) {
      cur += c + text[++i]!
      continue
    }
    if (c === '"') inQuote = !inQuote
    if (c === ',' && !inQuote) {
      out.push(cur)
      cur = ''
      continue
    }
    cur += c
  }
  out.push(cur)
  return out
}
