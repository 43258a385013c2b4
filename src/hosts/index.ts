export { parseHosts, formatProblems, MAX_PATH_LENGTH, MAX_HOSTS_BYTES } from './parse.js'
export type { HostsProblem, ParsedHosts } from './parse.js'
export type { Target, Expectation } from './target.js'
export { dnsNameProblem, hostKind, targetId } from './names.js'
export type { HostKind } from './names.js'
export {
  parseAddressMap,
  parseResolveEntries,
  parseConnectToEntries,
  lookupResolveMap,
  endpointText,
} from './resolve-map.js'
export type { AddressOverrides, Endpoint, ResolveMap } from './resolve-map.js'
export { resolveAddress, systemLookup } from './address.js'
export type { NameLookup } from './address.js'
