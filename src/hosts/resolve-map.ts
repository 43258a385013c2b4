import { isIPv4, isIPv6 } from 'node:net'
import { AppError } from '../core/errors.js'
import { dnsNameProblem } from './names.js'

/** Where a connection to a name actually goes. */
export interface Endpoint {
  address: string
  port: number
}

/**
 * curl-style address overrides, keyed by "host:port" in lower case. `--resolve HOST:PORT:ADDR`
 * points the name at an address on the same port; `--connect-to HOST:PORT:ADDR:PORT2` also moves
 * the port. Either way the name (SNI, Host header, certificate check, target id) stays HOST:PORT.
 */
export type ResolveMap = ReadonlyMap<string, Endpoint>

export interface AddressOverrides {
  resolve?: readonly string[]
  connectTo?: readonly string[]
}

/** Only what an entry may hold: no space, CR, LF, NUL, comma or other control byte reaches a device. */
const ENTRY_CHARS = /^[A-Za-z0-9.:[\]-]+$/

/**
 * Both options in one map. Entries are strict: HOST a DNS name, ports 1-65535, ADDR an IP
 * literal (a name would add a DNS hop that hides where the connection goes and what the AIA
 * address check judges). Empty HOST or PORT (curl's wildcards) are refused. The same HOST:PORT
 * given twice must agree.
 */
export function parseAddressMap(o: AddressOverrides): ResolveMap {
  const map = new Map<string, Endpoint>()
  const add = (flag: string, entry: string, key: string, to: Endpoint) => {
    const had = map.get(key)
    if (had && (had.address !== to.address || had.port !== to.port)) {
      throw new AppError('RESOLVE_MAP_INVALID', `${flag} "${entry}": ${key} is already mapped to ${endpointText(had)}`)
    }
    map.set(key, to)
  }
  for (const entry of o.resolve ?? []) {
    const [host, port, addr] = fields('--resolve', entry, 3, 'HOST:PORT:ADDR')
    add('--resolve', entry, `${host}:${port}`, { address: addr, port })
  }
  for (const entry of o.connectTo ?? []) {
    const [host, port, addr, port2] = fields('--connect-to', entry, 4, 'HOST:PORT:ADDR:PORT2')
    add('--connect-to', entry, `${host}:${port}`, { address: addr, port: port2! })
  }
  return map
}

export function parseResolveEntries(entries: readonly string[]): ResolveMap {
  return parseAddressMap({ resolve: entries })
}

export function parseConnectToEntries(entries: readonly string[]): ResolveMap {
  return parseAddressMap({ connectTo: entries })
}

export function lookupResolveMap(map: ResolveMap, host: string, port: number): Endpoint | undefined {
  return map.get(`${host.toLowerCase()}:${port}`)
}

export function endpointText(e: Endpoint): string {
  return `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`
}

/** Splits HOST:PORT:ADDR[:PORT2]; ADDR may be a bracketed IPv6 literal. Returns [host, port, addr, port2?]. */
function fields(flag: string, entry: string, count: 3 | 4, shape: string): [string, number, string, number?] {
  const bad = (why: string) => new AppError('RESOLVE_MAP_INVALID', `${flag} "${printable(entry)}": ${why}`)
  if (!ENTRY_CHARS.test(entry)) throw bad(`expected ${shape} (letters, digits, '.', '-', ':' and [ ] only)`)
  const m =
    count === 3
      ? /^([^:]*):([^:]*):(\[[^\]]*\]|[^[\]]*)$/.exec(entry)
      : /^([^:]*):([^:]*):(\[[^\]]*\]|[^[\]:]*):([^:]*)$/.exec(entry)
  if (!m) throw bad(`expected ${shape}`)
  const host = m[1]!
  if (host === '') throw bad('HOST is empty (wildcards are not supported)')
  const why = dnsNameProblem(host)
  if (why) throw bad(`HOST: ${why}`)
  const port = portOf(m[2]!, 'PORT', bad)
  const rawAddr = m[3]!
  const addr = rawAddr.startsWith('[') ? rawAddr.slice(1, -1) : rawAddr
  if (rawAddr.startsWith('[') ? !isIPv6(addr) : !isIPv4(addr) && !(count === 3 && isIPv6(addr))) {
    throw bad(`"${rawAddr}" is not an IP address${count === 4 ? ' (IPv6 in brackets)' : ''}`)
  }
  return count === 3 ? [host.toLowerCase(), port, addr] : [host.toLowerCase(), port, addr, portOf(m[4]!, 'PORT2', bad)]
}

function portOf(text: string, what: string, bad: (why: string) => AppError): number {
  if (text === '') throw bad(`${what} is empty (wildcards are not supported)`)
  if (!/^[0-9]{1,5}$/.test(text)) throw bad(`${what} "${text}" is not a port number`)
  const port = Number(text)
  if (port < 1 || port > 65535) throw bad(`${what} ${port} is outside 1-65535`)
  return port
}

/** The entry as shown in an error: control bytes and the like made visible, length bounded. */
function printable(entry: string): string {
  return JSON.stringify(entry.slice(0, 200)).slice(1, -1)
}
