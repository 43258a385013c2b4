import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/** What survives a reset: the TLS store lives in flash (reference §5). */
export interface FlashState {
  ca: Buffer | null
  caSki: string | null
  cert: Buffer | null
  key: Buffer | null
  auth: Buffer | null
  domain: string | null
  /**
   * What a dialect keeps in flash of its own (ESP-AT: the manufacturing NVS, the raw partitions
   * and the SSL client configuration), opaque here: the dialect's handler owns its shape.
   */
  dialect?: unknown
}

export interface EmuSocket {
  id: string
  socket: Socket | TLSSocket | null
  pending: Buffer[]
  pendingBytes: number
  closed: boolean
}

/** RAM state, lost at every reset. */
export interface RamState {
  echo: boolean
  errs: 0 | 1 | 2
  verbose: boolean
  /** Module RTC in ms at `rtcSetAt` (host monotonic ms). */
  rtcMs: number
  rtcSetAt: number
  vars: Map<string, string>
  sockets: Map<string, EmuSocket>
}
