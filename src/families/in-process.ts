import { resolve as resolvePath } from 'node:path'
import { systemClock } from '../core/clock.js'
import { DeviceError, type EmulatorOpener } from '../device/index.js'
import { openInProcessEmulator } from '../emulator/in-process.js'
import { emulatorSettings } from '../emulator/settings.js'
import { parseAddressMap } from '../hosts/index.js'
import { familyOf, loadProfile } from './index.js'

/**
 * Opens the module behind an `emu:` URL in this process: the profile and its family's handler,
 * the URL's options as `tlsmatrix emulate` reads its flags, and the same `Transport` as a port.
 * For tests about logic (test/helpers/io.ts `testIo({ inProcess: true })`); the CLI itself starts
 * the emulator as a process, as users run it.
 */
export const inProcessEmulator: EmulatorOpener = async (req) => {
  let settings
  try {
    settings = emulatorSettings(req.params)
  } catch (err) {
    throw new DeviceError('TRANSPORT_INVALID', (err as Error).message)
  }
  let profile, resolveMap
  try {
    // As the emulate process would: a file is found from the working directory.
    profile = await loadProfile(
      req.firmware.endsWith('.json') ? resolvePath(process.cwd(), req.firmware) : req.firmware,
      req.profileDirs ?? [],
    )
    resolveMap = parseAddressMap({ resolve: req.resolve, connectTo: req.connectTo ?? [] })
  } catch (err) {
    // Where the emulate process would have refused to start.
    throw new DeviceError('TRANSPORT_OPEN_FAILED', `emulator for ${req.firmware}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  return openInProcessEmulator({
    profile,
    dialect: familyOf(profile.dialect).emulator,
    settings,
    resolveMap,
    clock: systemClock,
    describe: `emu:${req.firmware} (in process)`,
  })
}
