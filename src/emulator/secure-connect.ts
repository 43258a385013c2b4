import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { parseCertificate, pemBlocks, type ParsedCert } from '../chain/index.js'
import { judgeChain } from '../predict/index.js'
import type { FailureClass } from '../profile/profile.js'
import { moduleConnect } from './https-client.js'
import type { ModuleContext } from './module.js'

/** A stored CA as the module reads it: PEM or DER, or null when it cannot be parsed. */
export function parseCa(bytes: Buffer): ParsedCert | null {
  try {
    const text = bytes.toString('latin1')
    const der = text.includes('-----BEGIN CERTIFICATE-----') ? pemBlocks(text)[0] : bytes
    return der ? parseCertificate(Buffer.from(der)) : null
  } catch {
    return null
  }
}

export type ModuleSession =
  { ok: true; socket: Socket | TLSSocket; lines: string[] } | { ok: false; class: FailureClass; lines: string[] }

/**
 * Both dialects' way out: connect as the profile's module, then (for TLS) judge the served chain
 * against the stored CA. `lines` are the CA look-up lines the module prints either way. Network
 * time is counted here for --stats; the caller adds what it spends after.
 */
export async function connectAndJudge(
  ctx: ModuleContext,
  what: string,
  host: string,
  port: number,
  tls: boolean,
  nameToCheck: string,
): Promise<ModuleSession> {
  const start = ctx.net.clock.monotonic()
  const elapsed = () => {
    ctx.stats.networkMs += ctx.net.clock.monotonic() - start
  }
  ctx.stats.requests++
  const conn = await moduleConnect(host, port, tls, ctx.profile, ctx.net)
  if (!conn.ok) {
    ctx.log(`${what} ${host}:${port}: ${conn.class} (${conn.reason})`)
    elapsed()
    return { ok: false, class: conn.class, lines: [] }
  }
  ctx.stats.handshakeMs += conn.handshakeMs
  if (!tls) {
    elapsed()
    return { ok: true, socket: conn.socket, lines: [] }
  }
  const ca = ctx.flash.ca ? parseCa(ctx.flash.ca) : null
  // The predictor's chain rules: the report predicts with the same code the emulator answers by.
  const verdict = judgeChain(conn.served, ca, ctx.profile, { host: nameToCheck, now: ctx.now() })
  const why = verdict.reasons.length ? verdict.reasons.map((r) => r.text).join('; ') : 'trusted'
  ctx.log(`${what} ${host}:${port} ${conn.protocol} ${conn.cipher}: ${verdict.class ?? 'pass'} (${why})`)
  elapsed()
  if (verdict.class) {
    conn.socket.destroy()
    return { ok: false, class: verdict.class, lines: verdict.lines }
  }
  return { ok: true, socket: conn.socket, lines: verdict.lines }
}
