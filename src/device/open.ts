import { AtChannel, type Framing } from './at/channel.js'
import type { Identity, ModuleDriver } from './drivers/driver.js'
import { DEFAULT_TIMEOUTS, type DriverTimeouts } from './drivers/common.js'
import { DeviceError } from './errors.js'
import type { FirmwareProfile } from '../profile/index.js'
import type { DeviceFamily } from './family.js'
import { openEmulator, type EmulatorOpener } from './transport/emu.js'
import { openSerial } from './transport/serial.js'
import { openTcp } from './transport/tcp.js'
import type { Transport } from './transport/transport.js'
import { parseDeviceUrl } from './transport/url.js'

/** Every family's final lines, to learn which one the module speaks. */
function anyFraming(families: readonly DeviceFamily[]): Framing {
  return {
    isOk: (l) => families.some((f) => f.framing.isOk(l)),
    isError: (l) => families.some((f) => f.framing.isError(l)),
    isWind: (l) => families.some((f) => f.framing.isWind(l)),
    // Before the family is known a restart is not acted on: sync asks AT until the module answers,
    // and one family's restart line may be another's stale boot banner (ESP-AT's `ready`).
    isReboot: () => false,
    // A family that reads CR LF (ESP-AT) waits for the LF; one that ends at CR skips the LF.
    ...(families.some((f) => f.framing.commandEnd === '\r\n') ? { commandEnd: '\r\n' } : {}),
  }
}

/**
 * The family whose answer to `AT` this was. Where several answer alike (SPWF01 and ESP-AT both
 * say OK), each one's probe is asked in turn; the first whose own line comes back is it, else the
 * first family without a probe.
 */
async function familyAnswering(
  channel: AtChannel,
  families: readonly DeviceFamily[],
  finalLine: string,
  timeoutMs: number,
): Promise<DeviceFamily | undefined> {
  const candidates = families.filter((f) => f.answersAt(finalLine))
  if (candidates.length <= 1) return candidates[0]
  for (const f of candidates) {
    if (!f.probe) continue
    const probe = f.probe
    const r = await channel.exec(probe.command, { timeoutMs }).catch(() => null)
    if (r?.lines.some((l) => probe.line.test(l))) return f
  }
  return candidates.find((f) => !f.probe)
}

export interface OpenedModule {
  driver: ModuleDriver
  channel: AtChannel
  transport: Transport
  identity: Identity
  profile: FirmwareProfile
  /** Set when no profile matches the module's version: the module's default table is used. */
  profileWarning: string | null
}

export interface OpenModuleOptions {
  /** Directories of user profiles, searched before the built-in ones. */
  profileDirs?: readonly string[]
  /** --resolve entries handed to emulators started for `emu:` URLs. */
  resolve?: readonly string[]
  /** --connect-to entries, handed on the same way. */
  connectTo?: readonly string[]
  timeouts?: Partial<DriverTimeouts>
  monotonic?: () => number
  /**
   * An emulator started for an `emu:` URL resolves no name outside `resolve`/`connectTo`, as a
   * module on a network whose DNS knows only those (learn's probe names, and its `.invalid` one).
   */
  dnsOff?: boolean
  /** The profile the driver works with, from the one picked (learn: a grammar that takes any line). */
  driverProfile?: (picked: FirmwareProfile) => FirmwareProfile
  /** What starts the module behind an `emu:` URL (default: a `tlsmatrix emulate` process); other URLs ignore it. */
  emulator?: EmulatorOpener
}

export async function openTransport(url: string, opts: OpenModuleOptions = {}): Promise<Transport> {
  const u = parseDeviceUrl(url)
  if (u.kind === 'serial') return await openSerial(u)
  if (u.kind === 'tcp') return await openTcp(u.host, u.port)
  const params = new URLSearchParams(u.params)
  if (opts.dnsOff && !params.has('no-dns')) params.append('no-dns', '')
  return await (opts.emulator ?? openEmulator)({
    firmware: u.profile,
    resolve: opts.resolve ?? [],
    connectTo: opts.connectTo ?? [],
    profileDirs: opts.profileDirs ?? [],
    params,
  })
}

/** The families a module may belong to, in recognition order, and the profiles to pick from. */
export interface KnownModules {
  families: readonly DeviceFamily[]
  profiles: readonly FirmwareProfile[]
}

/**
 * Opens a module on any transport, learns its dialect and identity from the wire, and picks the
 * firmware profile by module and version. The same path for a real module and an emulator.
 */
export async function openModuleWith(
  known: KnownModules,
  url: string,
  opts: OpenModuleOptions = {},
): Promise<OpenedModule> {
  const transport = await openTransport(url, opts)
  const monotonic = opts.monotonic ?? (() => performance.now())
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts }
  // A plain command never takes longer than an HTTPS request: a tighter request limit tightens both.
  if (opts.timeouts?.httpMs !== undefined && opts.timeouts.commandMs === undefined)
    timeouts.commandMs = Math.min(timeouts.commandMs, timeouts.httpMs)
  const opening = anyFraming(known.families)
  const channel = new AtChannel(transport, opening, monotonic)
  try {
    const dialectLine = await sync(channel)
    const profiles = known.profiles
    const family = await familyAnswering(channel, known.families, dialectLine, timeouts.commandMs)
    if (!family)
      throw new DeviceError('DEVICE_UNKNOWN', `"${dialectLine}" in answer to AT is no registered module family's`)
    // The first AT ended in CR LF, so that a family reading up to the LF (ESP-AT) answers it. A
    // family that ends commands at CR may take that LF as the start of its next line and refuse
    // it: in its own framing, AT until one is answered OK takes up that refusal. (Bare ATs: the
    // emulator's fault schedule never counts them.) A late OK is set aside by identify's reads.
    if ((family.framing.commandEnd ?? '\r') !== (opening.commandEnd ?? '\r')) {
      channel.setFraming(family.framing)
      await sync(channel)
    }
    const identity = await family.identify(channel, timeouts.commandMs, profiles)
    const { profile, warning } = pickProfile(identity, profiles)
    const working = opts.driverProfile ? opts.driverProfile(profile) : profile
    const driver = family.createDriver(channel, identity, working, monotonic, timeouts)
    return { driver, channel, transport, identity, profile, profileWarning: warning }
  } catch (err) {
    await transport.close()
    throw err
  }
}

/** `AT` until the module answers (the first bytes after opening a port are often noise). */
async function sync(channel: AtChannel): Promise<string> {
  let last: unknown
  for (let i = 0; i < 4; i++) {
    try {
      channel.resync()
      // Generous: an answer that arrives after a timeout would be taken for the next AT's, and every
      // later answer would be one command late. A live module answers AT at once; only a dead port waits.
      const r = await channel.exec('AT', { timeoutMs: 5000 })
      channel.takeStray()
      if (r.ok) return r.final
    } catch (err) {
      last = err
    }
  }
  throw new DeviceError('DEVICE_UNKNOWN', `no answer to AT on the port (${(last as Error)?.message ?? 'no reply'})`)
}

/** Exact module and version, else the module's newest profile with a warning saying so. */
export function pickProfile(
  identity: Identity,
  profiles: readonly FirmwareProfile[],
): { profile: FirmwareProfile; warning: string | null } {
  const same = profiles.filter((p) => p.module === identity.module)
  const exact = same.find((p) => p.firmware === identity.firmware)
  if (exact) return { profile: exact, warning: null }
  const fallback = [...same].sort((a, b) => compareVersions(b.firmware, a.firmware))[0]
  if (!fallback) throw new DeviceError('PROFILE_NOT_FOUND', `no firmware profile for module ${identity.module}`)
  return {
    profile: fallback,
    warning: `no profile for ${identity.module} firmware ${identity.firmware ?? '(unknown)'} build ${identity.build ?? '(unknown)'}; using ${fallback.id}'s error table`,
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}
