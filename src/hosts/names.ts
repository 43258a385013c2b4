import { isIPv4, isIPv6 } from 'node:net'

export type HostKind = 'dns' | 'ipv4' | 'ipv6'

/** RFC 1035 limits: 253 characters in the presentation form, 63 per label. */
export const MAX_NAME_LENGTH = 253
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** Returns why `name` is not an RFC 1123 host name, or null when it is one. */
export function dnsNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty name'
  if (name.length > MAX_NAME_LENGTH) return `name is ${name.length} characters, the limit is ${MAX_NAME_LENGTH}`
  for (const label of name.split('.')) {
    if (label.length === 0) return 'empty label (leading, trailing or doubled dot)'
    if (label.length > 63) return `label "${label.slice(0, 20)}..." is longer than 63 characters`
    if (!LABEL.test(label)) return `label "${label}" is not letters, digits and inner hyphens (RFC 1123)`
  }
  // An all-numeric last label would be read as an IPv4 address by resolvers.
  if (/^[0-9]+$/.test(name.split('.').pop() ?? ''))
    return 'the last label is numeric but the name is not an IPv4 address'
  return null
}

export function hostKind(host: string): HostKind {
  if (isIPv4(host)) return 'ipv4'
  if (isIPv6(host)) return 'ipv6'
  return 'dns'
}

/** "host:port" with brackets around IPv6 literals, the form used as a target's identity. */
export function targetId(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}
