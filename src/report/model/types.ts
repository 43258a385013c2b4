import type { TranscriptEntry } from '../../device/at/transcript.js'
import type { NotRunReason } from '../../plan/index.js'
import type { FailureClass } from '../../profile/index.js'

/**
 * Why a cell has no verdict: an attempt's not-run reason; `incomplete` (some CAs failed, others
 * planned were never judged); `unknown` (a not-run row stored with no reason).
 */
export type CellNotRunReason = NotRunReason | 'incomplete' | 'unknown'

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
  /** With no diff: why regressions were not judged (e.g. a nightly's first night has no earlier run). */
  noDiff?: string
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
  /** The GUESS notes of emulated profiles that cells rest on (see `Provenance.guesses`); the builder always sets it. */
  guessNotes?: string[]
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
  /** The run's devices: label, URL and what the URL says (emulated or a line); absent in models made by hand. */
  devices?: Array<{ label: string; url: string | null; kind: Provenance['kind'] }>
}

export interface FirmwareColumn {
  module: string
  firmware: string
  /** `MODULE@FIRMWARE`, the selector syntax. */
  key: string
  /** The profile snapshot the cells were judged with (null for runs stored before snapshots). */
  profileId: string | null
  /** CA store limits of the profile, for the anchor-set bytes (`caBundle`: a slot takes a PEM bundle). */
  store: { caSlots: number; maxCaBytes: number; caBundle?: boolean } | null
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
  class: FailureClass | null
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
  predictedClass: FailureClass | null
  /** predicted is known and differs from the verdict (or both fail with different classes). */
  disagree: boolean
  /**
   * Why there is no verdict, for not-run cells. `incomplete`: some CAs failed but others the plan
   * gave this target were never judged (the run was interrupted, the device lost, the budget spent,
   * no complete answer): without the module's word on every planned CA there is no fail.
   */
  notRun: { reason: CellNotRunReason; detail: string } | null
  /**
   * Every CA planned for this cell has the module's word (absent in reports made before it was
   * recorded). Statements and "only with" findings are made from complete cells only.
   */
  complete?: boolean
  /**
   * Candidate CAs the run's resolution found for this module that no attempt tried (`--anchors
   * first` tries the preferred one only), sha256; absent when every candidate was tried. A fail
   * is then the module's word on the CA(s) tried only: no statement says it does not reach.
   */
  untried?: string[]
  /** It passes, every planned and candidate CA was judged, and only intermediates passed: the intermediate is what to upload. */
  onlyIntermediate?: boolean
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
  /**
   * The device the verdict came from: emulated or a module on a line (set by the report builder;
   * absent only in models made by hand, and then shown as unknown).
   */
  provenance?: Provenance
}

/**
 * Where a verdict came from, read from the device URL the run recorded. Only an `emu:` URL is
 * known to be an emulator (the run started it): its verdict follows the profile. A serial port or
 * TCP line is taken as a real module; an emulator started by hand on one looks the same to the
 * runner, which cannot tell (it talks to bytes on a line).
 */
export interface Provenance {
  /** The device URL as the run recorded it; null when it did not. */
  url: string | null
  /** `emu` (emulated), `serial`, `tcp`; null when unknown. */
  kind: 'emu' | 'serial' | 'tcp' | null
  /** The profile the verdict was judged with (for `emu`, the one the emulator played). */
  profile: string | null
  /**
   * For an emulated module: the profile's GUESS notes on the fields the verdict rests on, as
   * indexes into `ReportModel.guessNotes` (each note written once in report.json).
   */
  guesses: number[]
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
  /**
   * The CAs to provision (sha256): the smallest set that makes every passing target pass when the
   * store holds it; otherwise the set the store can hold that makes the most pass (one CA for a
   * one-slot store without bundles), the rest listed in `uncovered`.
   */
  anchors: string[]
  /** Passing targets the set serves. */
  covers: string[]
  bytes: number
  /** True when found by exhaustive search (few candidates); false for greedy. */
  exact: boolean
  /** Per target, the CA to upload (preferred first). */
  perTarget: Array<{ target: string; anchors: string[] }>
  /**
   * The profile's store limit, when known (`caSlots × maxCaBytes`): bytes over it cannot all be
   * stored at once. The set never holds more CAs than the store does (see `store`).
   */
  limitBytes: number | null
  /** What the store holds at once (the profile's `store`), when known. */
  store?: { caSlots: number; caBundle: boolean; maxCaBytes: number } | null
  /** Passing targets the set does not serve: each needs another provisioning, with one of its CAs (preferred first). */
  uncovered?: Array<{ target: string; anchors: string[] }>
}

export interface DiffEntry {
  target: string
  /** The module@firmware compared, when both sides are runs (each firmware against itself); else null. */
  key: string | null
  /** The module@firmware of each side's cell (null for a side without one): every row names its firmware. */
  baselineKey: string | null
  candidateKey: string | null
  /**
   * How the chain the server sent changed between the two sides' runs (new intermediate, new
   * root, a key change…), null when both saw the same chain or it cannot be told.
   */
  chain: string | null
  /**
   * When `chain` is set: the entry's sentence on it ("the server's chain changed between the runs
   * (…)…", also `why[0]`), and the same sentence without certificate names (`brief`, for text that
   * names no server data, e.g. summary.txt). Null otherwise.
   */
  chainWhy?: { text: string; brief: string } | null
  before: Verdict | 'missing'
  after: Verdict | 'missing'
  beforeClass: FailureClass | null
  afterClass: FailureClass | null
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
  /**
   * Firmware against firmware: the verdict differs, but the server's chain changed between the
   * two runs and the baseline firmware is predicted to give the candidate's verdict on the new
   * chain too. Not blamed on the firmware (kept out of `--fail-on regression`).
   */
  chainChanged: DiffEntry[]
  /** The runs each side's cells come from (a `MODULE@FIRMWARE` baseline may come from an earlier run). */
  baselineRuns: string[]
  candidateRuns: string[]
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
  /**
   * The change in words: "re-issued (new keys, same names)", "re-certified (same keys, same
   * names)", else each change of `changes` in turn.
   */
  summary: string
  /** Each certificate that changed, paired by name across the two sides where it can be. */
  changes: ChainChangeItem[]
  verdicts: Array<{ module: string; firmware: string; before: Verdict | 'missing'; after: Verdict | 'missing' }>
}

export type ChainCertRole = 'leaf' | 'intermediate' | 'root'

export interface ChainChangeItem {
  /**
   * new-key: same name, new key; same-key: same name and key, new certificate; same-name: same
   * name, a key that could not be read; replaced: the one certificate of its role gone and another
   * name in its place; added / removed: no counterpart of that name; now-served / no-longer-served:
   * the same certificate, sent by the server or not.
   */
  kind: 'new-key' | 'same-key' | 'same-name' | 'replaced' | 'added' | 'removed' | 'now-served' | 'no-longer-served'
  role: ChainCertRole
  /** Readable name of the certificate (the later one for a pair). */
  name: string
  /** SHA-256 of the certificate before and after (null on the side it is missing from). */
  before: string | null
  after: string | null
  /** The change in words, e.g. "intermediate CN=… re-issued with a new key (RSA-2048)". */
  text: string
}

export interface Expiring {
  sha256: string
  subject: string
  notAfter: string
  daysLeft: number
  /** The first of `roles` (kept for scripts that read one role). */
  role: 'intermediate' | 'anchor' | 'root'
  /** Every role the certificate has in this report: sent by a server (intermediate, root) and/or uploaded (anchor). */
  roles: Array<'intermediate' | 'anchor' | 'root'>
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
