import type { AtChannel } from '../device/at/channel.js'
import type { Step, Unread } from '../device/doctor-step.js'
import type { DeviceFamily } from '../device/family.js'
import type { DialectHandler } from '../emulator/module.js'
import type { DialectRules, FirmwareProfile } from '../profile/index.js'

/**
 * Everything the tool knows about one AT dialect in code (its profiles, the data, are under
 * data/firmware): one registration per family, so that a new family is a new folder, not edits
 * in open, serve, plan, doctor and the profile loader.
 */
export interface ModuleFamily extends DeviceFamily, DialectRules {
  /**
   * A regular expression source matching this family's final lines on raw bytes (the doctor's
   * line-speed probe, which reads bytes before any channel exists).
   */
  readonly rawFinal: string
  /** The emulator's command set for this family. */
  readonly emulator: DialectHandler
  /**
   * Bytes a CA of this DER takes in the module's store (the upload's encoding). A function of
   * the DER's length only: the report, which keeps sizes and not certificates, relies on it.
   */
  caUploadBytes(der: Uint8Array): number
  readonly doctor: FamilyDoctor
  /** The largest CA the upload command itself can carry, when the protocol has a limit (learn searches up to it). */
  maxCaUploadBytes?(profile: FirmwareProfile): number
}

/**
 * What `tlsmatrix doctor` reads back in the family's own commands, and the fixes it prints in
 * them: a fix names this family's commands only (the generic doctor has none of its own).
 */
export interface FamilyDoctor {
  /**
   * Run after the driver's `prepare`: the console settings it made, read back (a read-back the
   * module refuses is `unknown`, quoting its answer, never a wrong setting).
   */
  console(channel: AtChannel, timeoutMs: number): Promise<Step>
  /** The module's clock; what it said instead when it refused; null when the family has no way to read it. */
  readClock(channel: AtChannel, timeoutMs: number): Promise<Date | Unread | null>
  /**
   * Address (null when the module says it has none: not joined) and, where the family reports
   * one, the Wi-Fi state; what the module said instead when it would not give the address.
   */
  readWifi(channel: AtChannel, timeoutMs: number): Promise<{ ip: string | null; state: string | null } | Unread>
  /** Whether an upload reports the CA's key id (checked against the one sent). */
  readonly caReportsKeyId: boolean
  /** One line: how to join a network in this family's commands. */
  readonly joinFix: string
  /** One line: how to restore console settings the module refused. */
  readonly answerFix: string
  /** One line: how to give the module a DNS server in this family's commands. */
  readonly dnsFix: string
  /** One line: how to set the module's console back to `baud`, in this family's commands. */
  baudFix(baud: number): string
  /** One line: how to check a name by hand, where a failed request does not say whether the name resolved. */
  readonly dnsByHand?: string
}
