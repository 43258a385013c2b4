import type { ModuleFamily } from '../family.js'
import { espDoctor } from './doctor.js'
import { EspAtDriver } from './driver.js'
import { espAt } from './emulator.js'
import { ESP_FRAMING } from './framing.js'
import { ESP_BLOCK, ESP_DIALECT, ESP_MODULES, espMaxCaBytes, espProblems } from './profile.js'
import { caUploadBytes } from './upload-size.js'

/**
 * Espressif ESP-AT v2.x–v5.x (ESP32, ESP32-C3, ESP32-C5, ESP8266): `\r\nOK\r\n` / `\r\nERROR\r\n`,
 * prompts, `+IPD` data; what differs between releases is the profile's `esp` block
 * (docs/esp-at.md names the sources).
 */
export const espAtFamily: ModuleFamily = {
  dialect: ESP_DIALECT,
  modules: ESP_MODULES,
  framing: ESP_FRAMING,
  answersAt: (line) => line === 'OK',
  // SPWF01 answers AT with OK too: only ESP-AT prints an `AT version:` line.
  probe: { command: 'AT+GMR', line: /^AT version:\d/ },
  rawFinal: 'OK|ERROR|SEND OK|SEND FAIL|busy p\\.\\.\\.',
  identify: (channel, timeoutMs) => EspAtDriver.identify(channel, timeoutMs),
  createDriver: (channel, identity, profile, monotonic, timeouts) =>
    new EspAtDriver(channel, identity, profile, monotonic, timeouts),
  emulator: espAt,
  caUploadBytes,
  doctor: espDoctor,
  profileBlock: { key: 'esp', schema: ESP_BLOCK },
  validate: espProblems,
  maxCaUploadBytes: espMaxCaBytes,
}
