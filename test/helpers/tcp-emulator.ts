import { systemClock } from '../../src/core/clock.js'
import { startEmulator, type RunningEmulator } from '../../src/emulator/serve.js'
import { emulatorSettings } from '../../src/emulator/settings.js'
import { familyOf, loadProfile } from '../../src/families/index.js'
import { parseAddressMap } from '../../src/hosts/index.js'

/**
 * An emulated module on a TCP port of this process, as `tlsmatrix emulate --listen` serves one
 * (the way a serial server exposes a module): for tests about what the runner does with a
 * `tcp://` device, without starting a process. `params` are an `emu:` URL's options; the line is
 * not paced (the fastest speed there is).
 */
export async function tcpEmulator(
  firmware: string,
  opts: { port?: number; resolve?: readonly string[]; params?: string } = {},
): Promise<RunningEmulator> {
  const profile = await loadProfile(firmware, [])
  const s = emulatorSettings(new URLSearchParams(opts.params ?? ''))
  return await startEmulator({
    profile,
    dialect: familyOf(profile.dialect).emulator,
    listen: { kind: 'tcp', host: '127.0.0.1', port: opts.port ?? 0 },
    resolveMap: parseAddressMap({ resolve: opts.resolve ?? [] }),
    baud: 4_000_000,
    rtcAtBoot: s.rtcAtBoot,
    wifi: s.wifi,
    faults: s.faults,
    seed: s.seed,
    requestTimeoutMs: s.requestTimeoutMs,
    dnsOff: s.dnsOff,
    clock: systemClock,
    log: () => {},
    // The emulator's own failures (a bug), where the test's output shows them.
    error: (m) => process.stderr.write(`emulator error: ${m}\n`),
  })
}
