import type { FirmwareProfile } from '../profile/index.js'
import type { AtChannel, Framing } from './at/channel.js'
import type { DriverTimeouts } from './drivers/common.js'
import type { Identity, ModuleDriver } from './drivers/driver.js'

/**
 * What opening a module needs of a module family: how it ends a response, how it is recognised on
 * the wire, how it says who it is, and its driver. The families (src/families) give these; this
 * layer names none of them.
 */
export interface DeviceFamily {
  /** The profile's `dialect` value, e.g. `spwf04`. */
  readonly dialect: string
  /** How the family ends a response and marks indications. */
  readonly framing: Framing
  /**
   * Recognition on the wire: true when this final line, the answer to a bare `AT` while the
   * channel takes any family's final lines, is this family's. Families are asked in registry order.
   */
  answersAt(finalLine: string): boolean
  /**
   * Where another family answers `AT` alike (ESP-AT and SPWF01 both say OK): a command whose
   * answer has a line only this family prints. Opening asks the probes before settling.
   */
  readonly probe?: { command: string; line: RegExp }
  /** Module, firmware and build, from the wire (profiles map a build to a version where the module does not say). */
  identify(channel: AtChannel, timeoutMs: number, profiles: readonly FirmwareProfile[]): Promise<Identity>
  createDriver(
    channel: AtChannel,
    identity: Identity,
    profile: FirmwareProfile,
    monotonic: () => number,
    timeouts: DriverTimeouts,
  ): ModuleDriver
}
