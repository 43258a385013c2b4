import type { TranscriptEntry } from '../../device/at/transcript.js'

/**
 * What a report says, built from the database alone (pure), rendered by every format. The
 * fields named in README "report.json" are a contract scripts rely on: add, never rename.
 * Every string here that came from a certificate, a server or a module is untrusted text.
 */
export interface ReportModel {
  title: string
  generatedAt: string
  expiryDays: number
  runs: ReportRun[]
  /** Columns, in order: by module, then by version. */
  firmware: FirmwareColumn[]
  /** Rows, in order: grouped by first tag (in order of first appearance), then hosts-file order. */
  targets: TargetRow[]
  /** One per target × firmware column that has data. Listing order: targets, then columns. */
  cells: Cell[]
  anchorSets: AnchorSet[]
  diff: Diff | null
  chainChanges: ChainChange[]
  expiring: Expiring[]
  statements: Statement[]
  /** Cells whose predicted verdict or class differs from the observed one. */
  disagreements: number
  /**
   * Targets whose verdict on one firmware differs between rigs (merged histories): the module is
   * the same, so the difference is the environment (DNS, a CDN edge, a proxy).
   */
  rigDifferences: Array<{ target: string; key: string; rigs: Array<{ rig: string; verdict: Verdict; runId: string }> }>
  /** Every certificate a cell, anchor set or change refers to, by sha256. */
  certificates: Record<string, CertSummary>
  /**
   * Rows of the database the report could not read (a history edited by hand, or merged before
   * merge checked its sources), each with what was done about it; `more` counts those not listed.
   * Absent or empty: every row read was sound.
   */
  unreadable?: { rows: UnreadableRow[]; more: number }
}

/** A row the report could not read: its table, id, column, why, and what the report did about it. */
export interface UnreadableRow {
  table: string
  id: string | number
  column: string
  problem: string
  effect: string
}

export interface ReportRun {
  id: string
  label: string | null
  startedAt: string
  endedAt: string | null
  status: string
}

export interface FirmwareColumn {
  module: string
  firmware: string
  /** `MODULE@FIRMWARE`, the selector syntax. */
  key: string
  /** The profile snapshot the cells were judged with (null for runs stored before snapshots). */
  profileId: string | null
  /** CA store limits of the profile, for the anchor-set bytes. */
  store: { caSlots: number; maxCaBytes: number } | null
}

export interface TargetRow {
  target: string
  host: string
  port: number
  path: string
  tags: string[]
  expect: 'pass' | 'fail' | null
}

export type Verdict = 'pass' | 'fail' | 'not-run'

export interface Cell {
  target: string
  host: string
  port: number
  tags: string[]
  module: string
  firmware: string
  /** `MODULE@FIRMWARE` */
  key: string
  verdict: Verdict
  /** The failure class (fail), null otherwise. */
  class: string | null
  expect: 'pass' | 'fail' | null
  /** The verdict disagrees with expect=. */
  mismatch: boolean
  /** A must-reject target (expect=fail) that passed: the worst finding on the page. */
  unsafe: boolean
  /** Anchors by sha256: those that passed (preferred first), those that failed. */
  anchors: { passed: string[]; failed: string[] }
  /** The module's own lines of the cell's evidence attempt. */
  lines: string[]
  /** Why it failed (or, for a pass, why the prediction said otherwise): one sentence each. */
  why: string[]
  predicted: 'pass' | 'fail' | 'unknown'
  predictedClass: string | null
  /** predicted is known and differs from the verdict (or both fail with different classes). */
  disagree: boolean
  /** Why there is no verdict, for not-run cells. */
  notRun: { reason: string; detail: string } | null
  runId: string
  observedAt: string | null
  evidence: Evidence
}

export interface Evidence {
  /** The attempt shown: the preferred passing anchor's, else the first failure's, else the not-run's. */
  attemptId: number
  device: string
  /** The machine the run was made on (`run --rig`), null for runs stored before it was recorded. */
  rig: string | null
  recordedAt: string
  /** The anchor uploaded for it (sha256, see certificates), null when none. */
  anchor: string | null
  upload: { command: string; ski: string | null; lines: string[] } | null
  /** The chain the module was served, as sent (sha256, see certificates); empty when unknown. */
  chain: string[]
  chainHash: string | null
  protocol: string | null
  cipher: string | null
}

export interface CertSummary {
  sha256: string
  subject: string
  /** A short readable name (CN first). */
  name: string
  issuer: string
  key: string
  bytes: number
  notBefore: string
  notAfter: string
  selfSigned: boolean
}

export interface AnchorSet {
  module: string
  firmware: string
  /** Smallest set (sha256) that makes every passing target pass. */
  anchors: string[]
  covers: string[]
  bytes: number
  /** True when found by exhaustive search (few candidates); false for greedy. */
  exact: boolean
  /** Per target, the CA to upload (preferred first). */
  perTarget: Array<{ target: string; anchors: string[] }>
  /** The profile's store limit, when known: bytes over it cannot all be stored at once. */
  limitBytes: number | null
}

export interface DiffEntry {
  target: string
  /** The module@firmware compared, when both sides are runs (each firmware against itself); else null. */
  key: string | null
  before: Verdict | 'missing'
  after: Verdict | 'missing'
  beforeClass: string | null
  afterClass: string | null
  why: string[]
}

export interface Diff {
  baseline: string
  candidate: string
  regressions: DiffEntry[]
  fixes: DiffEntry[]
  changed: DiffEntry[]
  /** Targets with the same verdict, class and lines. */
  same: string[]
  /** A side has no verdict (not-run or no data): nothing can be said. */
  notComparable: DiffEntry[]
  /** Must-reject targets (expect=fail) the candidate accepts, newly or not: `--fail-on unsafe`. */
  unsafe: string[]
}

export interface ChainChange {
  target: string
  before: { chainHash: string | null; observedAt: string; runId: string | null }
  after: { chainHash: string | null; observedAt: string; runId: string | null }
  /** Readable names of the certificates added and removed (see addedCerts for the details). */
  added: string[]
  removed: string[]
  addedCerts: string[]
  removedCerts: string[]
  verdicts: Array<{ module: string; firmware: string; before: Verdict | 'missing'; after: Verdict | 'missing' }>
}

export interface Expiring {
  sha256: string
  subject: string
  notAfter: string
  daysLeft: number
  role: 'intermediate' | 'anchor' | 'root'
  targets: string[]
  firmware: string[]
}

export interface Statement {
  module: string
  target: string
  /** First firmware (by version) that passes, null when none does. */
  from: string | null
  /** Later firmware that fails again, when any. */
  failsAgainOn: string[]
  text: string
}

/** Bulky evidence kept out of the model (200,000 attempts do not fit in memory at once). */
export interface EvidenceSource {
  transcript(attemptId: number): TranscriptEntry[]
}
