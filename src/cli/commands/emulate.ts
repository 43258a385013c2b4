import { resolve as resolvePath } from 'node:path'
import { writeFileAtomicSync } from '../../core/atomic-write.js'
import type { Clock } from '../../core/clock.js'
import { AppError } from '../../core/errors.js'
import { familyOf, loadProfile } from '../../families/index.js'
import { parseFaults } from '../../emulator/faults.js'
import { emulatorErrorLine } from '../../device/transport/emulator-line.js'
import { startEmulator } from '../../emulator/serve.js'
import { parseAddressMap } from '../../hosts/index.js'
import type { Io } from '../io.js'

export interface EmulateOptions {
  firmware: string
  pty: boolean
  listen?: string
  resolve: string[]
  connectTo?: string[]
  baud: number
  clock?: string
  wifi: boolean
  faults?: string
  seed: number
  log: boolean
  profiles: string[]
  requestTimeoutMs: number
  dns: boolean
  /** Write what the module did (bytes, requests, network time) to this JSON file on exit. */
  stats?: string
  allowRemote?: boolean
}

/** The module's RTC after power-on, when --clock is not given (a profile note documents it). */
export const DEFAULT_MODULE_CLOCK = '2000-01-01T00:00:00Z'

/**
 * `tlsmatrix emulate`: a separate process that behaves like a module on a serial line. Its first
 * stdout line is the URL to connect to; it runs until Ctrl-C or until its stdin closes (the
 * runner that started it is gone).
 */
export async function emulateCommand(
  opts: EmulateOptions,
  io: Io,
  clock: Clock,
  stdinClosed: Promise<void> | null,
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
    log: opts.log ? (m) => io.stderr.write(`[emu ${profile.id}] ${m}\n`) : () => {},
    notice: (m) => io.stderr.write(`[emu ${profile.id}] ${m}\n`),
    error: (m) => io.stderr.write(emulatorErrorLine(m)),
  })
  io.stdout.write(`${emu.url}\n`)
  await Promise.race([io.interrupted, ...(stdinClosed ? [stdinClosed] : [])])
  // Created exclusively beside its name and renamed into place: a link planted at the name is replaced, never followed.
  if (opts.stats) writeFileAtomicSync(resolvePath(io.cwd, opts.stats), JSON.stringify(emu.stats()))
  await emu.close()
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
