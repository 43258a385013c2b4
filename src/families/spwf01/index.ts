import { toPem } from '../../chain/index.js'
import { SPWF01_FRAMING } from './framing.js'
import { Spwf01Driver } from './driver.js'
import { spwf01 } from './emulator.js'
import type { ModuleFamily } from '../family.js'
import { spwf01Doctor } from './doctor.js'

/** ST SPWF01SA, firmware 3.x: `OK` / `ERROR: <text>`; HTTPS through a secure socket (reference §12). */
export const spwf01Family: ModuleFamily = {
  dialect: 'spwf01',
  modules: ['SPWF01SA'],
  framing: SPWF01_FRAMING,
  answersAt: (line) => line === 'OK',
  rawFinal: 'OK|ERROR[^\\r\\n]*',
  // The module prints a build, not a version: the profiles map one to the other.
  identify: (channel, timeoutMs, profiles) => Spwf01Driver.identify(channel, timeoutMs, profiles),
  createDriver: (channel, identity, profile, monotonic, timeouts) =>
    new Spwf01Driver(channel, identity, profile, monotonic, timeouts),
  emulator: spwf01,
  // The CA goes up as PEM text, and the store counts what it was sent.
  caUploadBytes: (der) => Buffer.byteLength(toPem(der)),
  doctor: spwf01Doctor,
}
