import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { lookupResolveMap, type Endpoint, type ResolveMap } from './resolve-map.js'

/** Name-to-address lookup; rejects with the resolver's errno error (ENOTFOUND, EAI_AGAIN…). */
export type NameLookup = (host: string) => Promise<string>

export const systemLookup: NameLookup = async (host) => (await lookup(host)).address

/**
 * The one way a name and port become the address and port connected to, for chain capture, AIA
 * downloads and the emulator's module: the --resolve/--connect-to map first, then an IP literal as
 * is, then DNS (the port unchanged). The AIA SSRF check judges the address this returns, so every
 * path must agree on it.
 */
export async function resolveAddress(
  host: string,
  port: number,
  map: ResolveMap,
  lookupName: NameLookup = systemLookup,
): Promise<Endpoint> {
  const bare = host.replace(/^\[|\]$/g, '')
  const mapped = lookupResolveMap(map, bare, port)
  if (mapped) return mapped
  return { address: isIP(bare) ? bare : await lookupName(bare), port }
}
