import { SPWF04_FRAMING } from './framing.js'
import { Spwf04Driver } from './driver.js'
import { spwf04 } from './emulator.js'
import type { ModuleFamily } from '../family.js'
import { spwf04Doctor } from './doctor.js'
import { SPWF04_BLOCK } from './profile.js'

/** ST SPWF04SA, firmware 1.x: `AT-S.OK` / `AT-S.ERROR:<code>:<text>` (AT reference §1-§8). */
export const spwf04Family: ModuleFamily = {
  dialect: 'spwf04',
  modules: ['SPWF04SA'],
  framing: SPWF04_FRAMING,
  answersAt: (line) => line === 'AT-S.OK',
  rawFinal: 'AT-S\\.OK|AT-S\\.ERROR[^\\r\\n]*',
  identify: (channel, timeoutMs) => Spwf04Driver.identify(channel, timeoutMs),
  createDriver: (channel, identity, profile, monotonic, timeouts) =>
    new Spwf04Driver(channel, identity, profile, monotonic, timeouts),
  emulator: spwf04,
  // The store holds the DER it was sent.
  caUploadBytes: (der) => der.length,
  doctor: spwf04Doctor,
  profileBlock: { key: 'spwf04', schema: SPWF04_BLOCK.optional() },
}
