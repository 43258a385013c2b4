import { isIPv4, isIPv6 } from 'node:net'
import { dnsNameProblem, hostKind, targetId } from './names.js'
import type { Expectation, Target } from './target.js'

export interface HostsProblem {
  file: string
  line: number
  reason: string
}

export interface ParsedHosts {
  targets: Target[]
  problems: HostsProblem[]
}

/** Longest accepted line; anything longer is refused rather than truncated. */
export const MAX_LINE_LENGTH = 1024
/** HTTPGET path limit chosen well under the module's 127-byte-after-AT line limit on SPWF01. */
export const MAX_PATH_LENGTH = 96
/** A hosts file is a list a person writes; anything bigger is a wrong file, refused before parsing. */
export const MAX_HOSTS_BYTES = 4 * 1024 * 1024
/** Problems printed before the rest are only counted: a wrong file must not flood the terminal. */
export const MAX_PRINTED_PROBLEMS = 50
const KEYS = new Set(['path', 'sni', 'tags', 'expect'])
// Printable ASCII minus space, comma and the characters that would change the meaning of an
// AT command line or an HTTP request line.
const PATH = /^\/[\x21-\x7e]*$/
const TAG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/

/**
 * Parses a hosts file. Pure: returns every problem at once (as file:line: reason) so a user fixes
 * the file in one pass, and no target from a file with problems should be used.
 */
export function parseHosts(text: string, file: string): ParsedHosts {
  const targets: Target[] = []
  const problems: HostsProblem[] = []
  const seen = new Map<string, number>()
  // Editors on Windows start UTF-8 files with a byte order mark; it is not part of the first host.
  if (text.startsWith('\uFEFF')) text = text.slice(1)
  // Split on LF and accept a CR only as the last byte of a line (CRLF files); a CR anywhere
  // else is an injection attempt and reported below as a control character.
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const lineNo = index + 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const problem = (reason: string) => problems.push({ file, line: lineNo, reason })
    if (line.length > MAX_LINE_LENGTH)
      return problem(`line is ${line.length} characters, the limit is ${MAX_LINE_LENGTH}`)
    const control = firstControl(line)
    if (control !== null) return problem(`control character ${control} is not allowed`)
    if (/[^\x20-\x7e\t]/.test(line))
      return problem('non-ASCII character (write internationalized names in punycode, xn--)')
    const content = stripComment(line).trim()
    if (content === '') return
    const result = parseLine(content)
    if (typeof result === 'string') return problem(result)
    const previous = seen.get(result.id)
    if (previous !== undefined) return problem(`duplicate target ${result.id} (first on line ${previous})`)
    seen.set(result.id, lineNo)
    targets.push({ ...result, source: { file, line: lineNo } })
  })
  return { targets, problems }
}

/** The first MAX_PRINTED_PROBLEMS problems as file:line: reason, then how many more there are. */
export function formatProblems(problems: HostsProblem[]): string {
  const shown = problems.slice(0, MAX_PRINTED_PROBLEMS).map((p) => `${p.file}:${p.line}: ${p.reason}`)
  const more = problems.length - shown.length
  return more > 0
    ? [...shown, `… and ${more} more problem${more === 1 ? '' : 's'} not shown`].join('\n')
    : shown.join('\n')
}

function firstControl(line: string): string | null {
  for (const ch of line) {
    const c = ch.charCodeAt(0)
    if ((c < 0x20 && ch !== '\t') || c === 0x7f) {
      const names: Record<number, string> = { 0: 'NUL', 10: 'LF', 13: 'CR', 0x7f: 'DEL' }
      return names[c] ?? `0x${c.toString(16).padStart(2, '0')}`
    }
  }
  return null
}

/** `#` starts a comment at the start of a line or after whitespace, so `path=/a#b` stays a path. */
function stripComment(line: string): string {
  const match = /(^|[ \t])#/.exec(line)
  return match ? line.slice(0, match.index) : line
}

function parseLine(content: string): Omit<Target, 'source'> | string {
  const [endpoint = '', ...options] = content.split(/[ \t]+/)
  const ep = parseEndpoint(endpoint)
  if (typeof ep === 'string') return ep
  const fields: Record<string, string> = {}
  for (const option of options) {
    const eq = option.indexOf('=')
    if (eq <= 0) return `unexpected "${option}": options are key=value and values cannot contain spaces`
    const key = option.slice(0, eq)
    const value = option.slice(eq + 1)
    if (!KEYS.has(key)) return `unknown key "${key}" (known: ${[...KEYS].join(', ')})`
    if (key in fields) return `key "${key}" given twice`
    if (key !== 'tags' && value.includes(',')) return `"${key}" contains a comma, which would split an AT command field`
    fields[key] = value
  }
  const path = fields.path ?? '/'
  if (!PATH.test(path)) return `path "${path}" must start with / and hold printable characters without spaces`
  if (path.length > MAX_PATH_LENGTH) return `path is ${path.length} characters, the limit is ${MAX_PATH_LENGTH}`
  let sni: string | null = ep.kind === 'dns' ? ep.host : null
  if (fields.sni !== undefined) {
    if (fields.sni === '-') sni = null
    else {
      const why =
        isIPv4(fields.sni) || isIPv6(fields.sni)
          ? 'an IP address cannot be sent as SNI (RFC 6066)'
          : dnsNameProblem(fields.sni)
      if (why) return `sni "${fields.sni}": ${why}`
      sni = fields.sni.toLowerCase()
    }
  }
  const tags = fields.tags === undefined ? [] : fields.tags.split(',')
  for (const tag of tags) if (!TAG.test(tag)) return `tag "${tag}" must be 1-32 letters, digits, _ . -`
  let expect: Expectation | null = null
  if (fields.expect !== undefined) {
    if (fields.expect !== 'pass' && fields.expect !== 'fail')
      return `expect must be pass or fail, not "${fields.expect}"`
    expect = fields.expect
  }
  // The same host may be listed again with another server name: each is its own target.
  const sniPart = sni === (ep.kind === 'dns' ? ep.host : null) ? '' : ` sni=${sni ?? '-'}`
  return {
    id: `${targetId(ep.host, ep.port)}${sniPart}`,
    host: ep.host,
    hostKind: ep.kind,
    port: ep.port,
    path,
    sni,
    tags,
    expect,
  }
}

function parseEndpoint(text: string): { host: string; port: number; kind: Target['hostKind'] } | string {
  let host: string
  let portText: string | undefined
  // A URL pasted from a browser: say so, rather than read its scheme as a host and the rest as a port.
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)/.exec(text)
  if (url)
    return `"${text}" is a URL; write the host as ${url[1] || 'host'}${url[2] && url[2] !== '/' ? ` and the path as path=${url[2]}` : ''} (host[:port] path=/…)`
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) return `"${text}": missing ] after IPv6 address`
    host = text.slice(1, close)
    const rest = text.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) return `"${text}": expected :port after ]`
    portText = rest === '' ? undefined : rest.slice(1)
    if (!isIPv6(host)) return `"${host}" is not an IPv6 address`
  } else {
    const parts = text.split(':')
    if (parts.length > 2) {
      return isIPv6(text)
        ? `"${text}": an IPv6 address must be written in brackets, [::1]:443`
        : `"${text}": more than one port (host[:port], e.g. ${parts[0]}:${parts[1]})`
    }
    host = parts[0] ?? ''
    portText = parts[1]
    if (text.includes(',')) return `"${text}" contains a comma, which would split an AT command field`
    if (!isIPv4(host)) {
      const why = dnsNameProblem(host)
      if (why) return `host "${host}": ${why}`
    }
  }
  let port = 443
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return `port "${portText}" is not a number`
    port = Number(portText)
    if (port < 1 || port > 65535) return `port ${port} is outside 1-65535`
  }
  const kind = hostKind(host)
  return { host: kind === 'dns' ? host.toLowerCase() : host, port, kind }
}
