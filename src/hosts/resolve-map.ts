import { isIPv4, isIPv6 } from 'node:net'
import { AppError } from '../core/errors.js'
import { dnsNameProblem } from './names.js'

/**
 * curl-style --resolve HOST:PORT:ADDR entries: the name is pointed at an address without DNS.
 * Keyed by "host:port" in lower case.
 */
export type ResolveMap = ReadonlyMap<string, string>

export function parseResolveEntries(entries: readonly string[]): ResolveMap {
  const map = new Map<string, string>()
  for (const entry of entries) {
    const m = /^([^:]+):([0-9]{1,5}):(.+)$/.exec(entry)
    if (!m) throw new AppError('RESOLVE_MAP_INVALID', `--resolve "${entry}": expected HOST:PORT:ADDR`)
    const [, host = '', portText = '', rawAddr = ''] = m
    const addr = rawAddr.startsWith('[') && rawAddr.endsWith(']') ? rawAddr.slice(1, -1) : rawAddr
    const why = dnsNameProblem(host)
    if (why) throw new AppError('RESOLVE_MAP_INVALID', `--resolve "${entry}": ${why}`)
    const port = Number(portText)
    if (port < 1 || port > 65535) throw new AppError('RESOLVE_MAP_INVALID', `--resolve "${entry}": port ${port} is outside 1-65535`)
    if (!isIPv4(addr) && !isIPv6(addr)) throw new AppError('RESOLVE_MAP_INVALID', `--resolve "${entry}": "${addr}" is not an IP address`)
    map.set(`${host.toLowerCase()}:${port}`, addr)
  }
  return map
}

export function lookupResolveMap(map: ResolveMap, host: string, port: number): string | undefined {
  return map.get(`${host.toLowerCase()}:${port}`)
}
