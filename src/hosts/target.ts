import type { HostKind } from './names.js'

export type Expectation = 'pass' | 'fail'

/** One line of a hosts file, validated: every field is safe to place in an AT command. */
export interface Target {
  /** "host:port", IPv6 in brackets; unique within a hosts file. */
  id: string
  host: string
  hostKind: HostKind
  port: number
  path: string
  /** Server name sent in the ClientHello, or null to send none. */
  sni: string | null
  tags: string[]
  expect: Expectation | null
  source: { file: string; line: number }
}
