import type { TranscriptEntry } from '../at/transcript.js'
import type { Dialect, FailureClass } from '../../profile/profile.js'

export interface Identity {
  /** One of the modules its family lists. */
  module: string
  /** Version as x.y.z, or null when the module does not say and no profile knows its build. */
  firmware: string | null
  build: string | null
  dialect: Dialect
}

export interface HttpsRequest {
  host: string
  path: string
  port: number
}

/** One HTTPS GET by the module, judged only from what the module printed. */
export interface Attempt {
  outcome: 'pass' | 'fail'
  class: FailureClass | null
  /** The module's own lines (informational and final), in order. */
  lines: string[]
  httpStatus: number | null
  bodyBytes: number
  durationMs: number
  transcript: TranscriptEntry[]
  /** For the `device` class: what went wrong (timeout, damaged lines, reboot, unknown lines). */
  deviceError: string | null
  /**
   * Why the module gave no verdict, for the `device` class: `link` (no complete, well-formed
   * response: timeout, damaged line, reboot, closed port; a retry may help) or `unrecognized`
   * (a complete, well-formed response that no error-table entry is, e.g. not ready).
   */
  fault: 'link' | 'unrecognized' | null
}

export interface CaUpload {
  /** The command sent (its payload, the CA, is not repeated here). */
  command: string
  /** The SubjectKeyId the module reported (lower-case hex), or null when it reports none. */
  ski: string | null
  lines: string[]
}

/** What the runner needs from a module, whatever its dialect. */
export interface ModuleDriver {
  readonly identity: Identity
  /** Console settings and the clock (validity checks use the module's clock). */
  prepare(now: Date): Promise<void>
  /** Empties the TLS certificate store. */
  clean(): Promise<void>
  uploadCa(der: Buffer): Promise<CaUpload>
  /** Restarts seen on the wire (+WIND:1/2) since the driver was made: state (clock, CA) is lost. */
  reboots(): number
  httpsGet(req: HttpsRequest): Promise<Attempt>
  /** Software reset, wait for the boot indications, resynchronise; `stop` true gives up at once. */
  reset(stop?: () => boolean): Promise<void>
  /** Without a reset: poll until the module answers and the next answer read is the next command's. */
  resync(stop?: () => boolean): Promise<void>
  close(): Promise<void>
}
