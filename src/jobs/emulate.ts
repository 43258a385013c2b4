import { resolve as resolvePath } from 'node:path'
import { writeFileAtomicSync } from '../core/atomic-write.js'
import type { Clock } from '../core/clock.js'
import { AppError } from '../core/errors.js'
import { parseFaults } from '../emulator/faults.js'
import { startEmulator } from '../emulator/serve.js'
import { familyOf, loadProfile } from '../families/index.js'
import { parseAddressMap } from '../hosts/index.js'
import type { JobIo } from './io.js'

export interface EmulateJobOptions {
  firmware: string
  pty: boolean
  listen?: string | undefined
  resolve: string[]
  connectTo?: string[] | undefined
  baud: number
  clock?: string | undefined
  wifi: boolean
  faults?: string | undefined
  seed: number
  log: boolean
  profiles: string[]
  requestTimeoutMs: number
  dns: boolean
  /** Write what the module did (bytes, requests, network time) to this JSON file on exit. */
  stats?: string | undefined
  allowRemote?: boolean | undefined
}

/** What an emulator says: its URL first; then its decisions (--log) and notices; its own failures. */
export type EmulatorEvent =
  { kind: 'url'; url: string } | { kind: 'said'; profile: string; text: string } | { kind: 'error'; text: string }

/** The module's RTC after power-on, when --clock is not given (a profile note documents it). */
export const DEFAULT_MODULE_CLOCK = '2000-01-01T00:00:00Z'

/**
 * The emulate job: an emulated module served on a pseudo-terminal or a TCP port until Ctrl-C or
 * until `until` resolves (the runner that started it is gone). Its URL, and what it says while it
 * serves, are events for the command to print.
 */
export async function emulateJob(
  opts: EmulateJobOptions,
  io: JobIo,
  clock: Clock,
  until: Promise<void> | null,
  on: (e: EmulatorEvent) => void,
): Promise<void> {
  if (opts.pty === Boolean(opts.listen))
    throw new AppError('USAGE', 'give exactly one of --pty or --listen tcp://HOST:PORT')
  let listen: { kind: 'pty' } | { kind: 'tcp'; host: string; port: number } = { kind: 'pty' }
  if (opts.listen) {
    const m = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(opts.listen)
    if (!m) throw new AppError('USAGE', `--listen ${opts.listen}: expected tcp://HOST:PORT`)
    const port = Number(m[2])
    if (port > 65535) throw new AppError('USAGE', `--listen ${opts.listen}: port must be 0-65535 (0 picks a free one)`)
    listen = { kind: 'tcp', host: m[1]!, port }
    // Whoever connects makes this machine send real HTTPS requests: loopback unless the user says so.
    if (!isLoopback(listen.host) && !opts.allowRemote)
      throw new AppError(
        'USAGE',
        `--listen ${opts.listen}: ${listen.host} is not a loopback address; anyone who reaches it makes real HTTPS requests from this machine. Add --allow-remote if that is intended.`,
      )
  }
  const rtc = new Date(opts.clock ?? DEFAULT_MODULE_CLOCK)
  if (Number.isNaN(rtc.getTime())) throw new AppError('USAGE', `--clock ${opts.clock}: not an ISO-8601 date`)
  let faults
  try {
    faults = parseFaults(opts.faults ?? '')
  } catch (err) {
    throw new AppError('USAGE', (err as Error).message)
  }
  const profile = await loadProfile(
    opts.firmware.endsWith('.json') ? resolvePath(io.cwd, opts.firmware) : opts.firmware,
    opts.profiles.map((d) => resolvePath(io.cwd, d)),
  )
  const emu = await startEmulator({
    profile,
    dialect: familyOf(profile.dialect).emulator,
    listen,
    resolveMap: parseAddressMap({ resolve: opts.resolve, connectTo: opts.connectTo ?? [] }),
    baud: opts.baud,
    rtcAtBoot: rtc,
    wifi: opts.wifi,
    faults,
    seed: opts.seed,
    requestTimeoutMs: opts.requestTimeoutMs,
    dnsOff: !opts.dns,
    clock,
    log: opts.log ? (text) => on({ kind: 'said', profile: profile.id, text }) : () => {},
    notice: (text) => on({ kind: 'said', profile: profile.id, text }),
    error: (text) => on({ kind: 'error', text }),
  })
  on({ kind: 'url', url: emu.url })
  await Promise.race([io.interrupted, ...(until ? [until] : [])])
  // Created exclusively beside its name and renamed into place: a link planted at the name is replaced, never followed.
  if (opts.stats) writeFileAtomicSync(resolvePath(io.cwd, opts.stats), JSON.stringify(emu.stats()))
  await emu.close()
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
