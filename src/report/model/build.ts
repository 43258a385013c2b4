import { DEFAULT_HELLO, issuedBy, storedCertificate, type ParsedCert } from '../../chain/index.js'
import { displayName } from '../../chain/display-name.js'
import { AppError } from '../../core/errors.js'
import { helloOf, type FirmwareProfile } from '../../profile/index.js'
import { findFamily, loadProfile } from '../../families/index.js'
import { predict, type HandshakeFact, type Prediction } from '../../predict/index.js'
import { candidatesFor } from '../../plan/index.js'
import {
  helloHash,
  type AttemptRow,
  type HistoryObservation,
  type HistoryRun,
  type HistoryStore,
} from '../../store/index.js'
import { preferAnchors, provisionCover } from './anchors.js'
import { buildCell, inColumn, type CellAttempt, type CellChain, type CellGaps } from './cells.js'
import { describeChainChange, historyCertFacts, keyText, type ChainCertFacts } from './chain-change.js'
import { diffCells, sameSidesWhy, type ChangeExplanation } from './diff.js'
import { deviceKind, guessNotesFor } from './provenance.js'
import type { StrictJudgement } from './skipped.js'
import { expiringCertificates } from './expiry.js'
import { buildStatements, cellId } from './statements.js'
import type {
  AnchorSet,
  Cell,
  CertSummary,
  ChainChange,
  FirmwareColumn,
  Provenance,
  ReportModel,
  ReportRun,
  TargetRow,
} from './types.js'
import { columnKey, compareVersions } from './versions.js'

export interface ReportQuery {
  /** Only these runs (--run); all runs when empty. */
  runs: string[]
  baseline: string | null
  candidate: string | null
  /** With no baseline and candidate: why the report has no diff (said where regressions would be). */
  noDiff?: string | null
  /** Only targets with one of these tags; all when empty. */
  tags: string[]
  expiryDays: number
  title: string | null
  now: Date
}

/**
 * The report's model, from the database alone: each cell the latest final attempts of its target
 * on its module@firmware (within --run), judged again by the predictor with the profile snapshot
 * the run kept, so a report made months later on another machine says the same.
 */
export async function buildReport(history: HistoryStore, q: ReportQuery): Promise<ReportModel> {
  const allRuns = history.runs()
  const runById = new Map(allRuns.map((r) => [r.id, r]))
  for (const id of q.runs) {
    if (runById.has(id)) continue
    notSurvey(history, `--run ${id}`, id)
    if (history.unreadableRun(id))
      throw new AppError('REPORT_NO_DATA', `--run ${id}: the run cannot be read (${unreadableText(history, id)})`)
    throw new AppError(
      'REPORT_NO_DATA',
      `--run ${id}: no such run in the database (${allRuns.length} run(s); the newest: ${
        allRuns
          .slice(-3)
          .map((r) => r.id)
          .join(', ') || 'none'
      })`,
    )
  }
  const ctx = new Context(history, runById)
  await ctx.loadFallbackProfiles(allRuns)
  const rows = targetRows(q.runs.length ? q.runs.map((id) => runById.get(id)!) : allRuns)
  const main = ctx.cells(history.latestRuns(q.runs.length ? q.runs : null), rows)
  const keep = (t: TargetRow) => q.tags.length === 0 || t.tags.some((tag) => q.tags.includes(tag))
  // Targets the runs listed but never reached (a run stopped early) stay in the rows: "no data" is an answer.
  const targets = groupByTag([...rows.values()].filter((t) => keep(t)))
  if (!targets.some((t) => main.byTarget.has(t.target)))
    throw new AppError(
      'REPORT_NO_DATA',
      q.tags.length
        ? `no target tagged ${q.tags.join(', ')} has a verdict in the database`
        : `the database holds no final attempt to report on${unreadableNote(history)}: run a survey first (tlsmatrix run)`,
    )
  const columns = ctx.columns(main.cells)
  const ordered: Cell[] = []
  for (const t of targets)
    for (const c of columns) {
      const cell = main.byId.get(cellId(t.target, c.key))
      if (cell) ordered.push(cell)
    }
  const usedRuns = new Set(ordered.map((c) => c.runId))

  let diff = null
  if (q.baseline || q.candidate) {
    if (!q.baseline || !q.candidate) throw new AppError('USAGE', '--baseline and --candidate go together')
    const same = sameSidesWhy(q.baseline, q.candidate)
    if (same) throw new AppError('USAGE', same)
    const runSide = (sel: string) => sel.startsWith('run:')
    // Two runs compare each firmware with itself (last night against tonight); otherwise one
    // column against another, per target.
    const perColumn = runSide(q.baseline) && runSide(q.candidate)
    // A firmware compared with a run is looked up outside that run: a run is never its own baseline.
    const side = (sel: string, other: string) =>
      ctx.selection(sel, main.byId, columns, rows, q.runs, perColumn, runSide(other) ? other.slice(4) : null)
    const before = side(q.baseline, q.candidate)
    const after = side(q.candidate, q.baseline)
    for (const c of [...before.values(), ...after.values()]) usedRuns.add(c.runId)
    const order = perColumn
      ? targets.flatMap((t) => columns.map((c) => ({ id: cellId(t.target, c.key), target: t.target, key: c.key })))
      : targets.map((t) => ({ id: t.target, target: t.target, key: null }))
    diff = diffCells(q.baseline, q.candidate, before, after, order, (b, a) => ctx.explainChange(b, a))
  }
  const cert = (sha: string) => ctx.summary(sha)
  const model: ReportModel = {
    title: q.title ?? 'tlsmatrix report',
    generatedAt: q.now.toISOString(),
    expiryDays: q.expiryDays,
    runs: [...usedRuns]
      .map((id) => runById.get(id)!)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .map(reportRun),
    firmware: columns,
    targets,
    cells: ordered,
    anchorSets: columns.map((c) =>
      anchorSet(
        c,
        ordered.filter((x) => x.key === c.key),
        cert,
        ctx.dialectOf(c.key),
      ),
    ),
    diff,
    ...(diff === null && q.noDiff ? { noDiff: q.noDiff } : {}),
    chainChanges: chainChanges(history, targets, columns, ctx.certFacts),
    expiring: expiringCertificates(ordered, cert, q.now, q.expiryDays),
    statements: buildStatements(columns, main.byId, targets, (sha) => cert(sha)?.name ?? sha.slice(0, 16)),
    disagreements: ordered.filter((c) => c.disagree).length,
    rigDifferences: rigDifferences(history, q.runs.length ? q.runs : null, main.byId),
    // Keyed by sha256 from the database: no prototype, so no stored text can name one of its properties.
    certificates: Object.create(null) as Record<string, CertSummary>,
  }
  const shas = new Set<string>()
  for (const c of ordered)
    for (const s of [
      ...c.anchors.passed,
      ...c.anchors.failed,
      ...c.evidence.chain,
      ...(c.untried ?? []),
      ...(c.evidence.anchor ? [c.evidence.anchor] : []),
    ])
      shas.add(s)
  for (const ch of model.chainChanges)
    for (const s of [...ch.addedCerts, ...ch.removedCerts, ...ch.changes.flatMap((i) => [i.before, i.after])])
      if (s) shas.add(s)
  for (const e of model.expiring) shas.add(e.sha256)
  for (const s of [...shas].sort()) {
    const c = cert(s)
    if (c) model.certificates[s] = c
  }
  model.guessNotes = ctx.guessNotes()
  model.unreadable = history.unreadable()
  return model
}

/** When rows could not be read, what they were: an empty report must not hide why it is empty. */
function unreadableNote(history: HistoryStore): string {
  const { rows, more } = history.unreadable()
  if (rows.length === 0) return ''
  const first = rows[0]!
  return ` that it can read (${rows.length + more} row(s) could not be read, the first: ${first.table} ${first.id}, column ${first.column} ${first.problem})`
}

/** Why a run that cannot be read was left out, from the rows the history listed. */
function unreadableText(history: HistoryStore, runId: string): string {
  const p = history.unreadable().rows.find((r) => r.table === 'runs' && r.id === runId)
  return p ? `column ${p.column} ${p.problem}` : 'a column cannot be read'
}

/**
 * With runs from several rigs, each rig's latest verdict per target and firmware: where they
 * differ the cell says so in its why, since the same firmware judged the same server.
 */
function rigDifferences(
  history: HistoryStore,
  runIds: string[] | null,
  cells: ReadonlyMap<string, Cell>,
): ReportModel['rigDifferences'] {
  if (history.rigCount() < 2) return []
  const byCell = new Map<string, Array<{ rig: string; runId: string }>>()
  for (const r of history.latestRunsPerRig(runIds)) {
    const id = cellId(r.target, columnKey(r.module, r.firmware))
    byCell.set(id, [...(byCell.get(id) ?? []), { rig: r.rig, runId: r.runId }])
  }
  const out: ReportModel['rigDifferences'] = []
  for (const [id, rigs] of byCell) {
    const cell = cells.get(id)
    if (!cell || rigs.length < 2) continue
    const seen = rigs
      .map(({ rig, runId }) => {
        const v = history
          .runVerdicts(runId, cell.target)
          .filter((x) => x.module === cell.module && x.firmware === cell.firmware)
        const verdict: 'pass' | 'fail' | 'not-run' = v.some((x) => x.outcome === 'pass')
          ? 'pass'
          : v.some((x) => x.outcome === 'fail')
            ? 'fail'
            : 'not-run'
        return { rig, verdict, runId }
      })
      .sort((a, b) => a.rig.localeCompare(b.rig))
    const verdicts = new Set(seen.filter((x) => x.verdict !== 'not-run').map((x) => x.verdict))
    if (verdicts.size < 2) continue
    out.push({ target: cell.target, key: cell.key, rigs: seen })
    cell.why.push(
      `differs between rigs on ${cell.key}: ${seen.map((x) => `${x.rig} ${x.verdict}`).join(', ')} — the same firmware, so an environment difference (DNS, a CDN edge, a proxy)`,
    )
  }
  return out
}

function reportRun(r: HistoryRun): ReportRun {
  return {
    id: r.id,
    label: r.label,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    status: r.status,
    devices: (Array.isArray(r.devices) ? r.devices : []).map((d) => ({
      label: d.label,
      url: d.url ?? null,
      kind: deviceKind(d.url ?? null),
    })),
  }
}

/** Targets as the hosts files listed them: the newest run's listing first, then older runs' extras. */
function targetRows(runs: readonly HistoryRun[]): Map<string, TargetRow> {
  const rows = new Map<string, TargetRow>()
  for (const r of [...runs].reverse()) {
    for (const t of [...(r.targets ?? [])].sort((a, b) => a.line - b.line)) {
      if (!rows.has(t.id))
        rows.set(t.id, { target: t.id, host: t.host, port: t.port, path: t.path, tags: t.tags, expect: t.expect })
    }
  }
  return rows
}

/** Grouped by first tag (groups in order of first appearance, untagged last), hosts-file order within. */
function groupByTag(rows: readonly TargetRow[]): TargetRow[] {
  const groups = new Map<string, TargetRow[]>()
  for (const r of rows) {
    const g = r.tags[0] ?? '\uffff'
    groups.set(g, [...(groups.get(g) ?? []), r])
  }
  const untagged = groups.get('\uffff') ?? []
  groups.delete('\uffff')
  return [...[...groups.values()].flat(), ...untagged]
}

function anchorSet(
  c: FirmwareColumn,
  cells: readonly Cell[],
  cert: (sha: string) => CertSummary | undefined,
  dialect: string | null,
): AnchorSet {
  const passing = cells.filter((x) => x.verdict === 'pass')
  const preferred = preferAnchors(
    passing.flatMap((x) => x.anchors.passed),
    cert,
  )
  // What the upload puts in the store, as the family encodes it (DER on the SPWF04SA, PEM text on
  // the SPWF01SA). The report keeps sizes, not certificates: a family's size depends on the length only.
  const family = dialect === null ? undefined : findFamily(dialect)
  const bytesOf = (sha: string) => {
    const s = cert(sha)
    return s ? (family ? family.caUploadBytes(new Uint8Array(s.bytes)) : s.bytes) : 0
  }
  // The recommendation respects the store: one CA per slot unless the profile says a slot takes a bundle.
  const capacity = c.store
    ? { slots: c.store.caSlots, bundle: c.store.caBundle ?? false, maxBytes: c.store.maxCaBytes }
    : null
  const cover = provisionCover(
    passing.map((x) => x.anchors.passed),
    preferred,
    capacity,
    bytesOf,
  )
  const unmet = new Set(cover.unmet)
  return {
    module: c.module,
    firmware: c.firmware,
    anchors: cover.anchors,
    covers: passing.filter((_, i) => !unmet.has(i)).map((x) => x.target),
    bytes: cover.anchors.reduce((n, s) => n + bytesOf(s), 0),
    exact: cover.exact,
    perTarget: passing.map((x) => ({ target: x.target, anchors: x.anchors.passed })),
    limitBytes: c.store ? c.store.caSlots * c.store.maxCaBytes : null,
    store: capacity ? { caSlots: capacity.slots, caBundle: capacity.bundle, maxCaBytes: capacity.maxBytes } : null,
    uncovered: passing.filter((_, i) => unmet.has(i)).map((x) => ({ target: x.target, anchors: x.anchors.passed })),
  }
}

/** Targets whose chain (as a broad client is served it) changed between their last two observations. */
function chainChanges(
  history: HistoryStore,
  targets: readonly TargetRow[],
  columns: readonly FirmwareColumn[],
  facts: (sha: string) => ChainCertFacts | null,
): ChainChange[] {
  const lastTwo = history.lastTwoObservations(helloHash(DEFAULT_HELLO))
  const out: ChainChange[] = []
  for (const t of targets) {
    const [after, before] = lastTwo.get(t.target) ?? []
    if (!after || !before || after.unreadable || before.unreadable) continue
    const sameAnchors = after.anchors.join() === before.anchors.join()
    if (after.chainHash === before.chainHash && sameAnchors) continue
    const added = after.served.filter((s) => !before.served.includes(s))
    const removed = before.served.filter((s) => !after.served.includes(s))
    const name = (sha: string) => {
      const c = history.certificate(sha)
      return c ? `${displayName(c.subject, 80)} (${keyText(c)})` : sha
    }
    const verdictIn = (runId: string | null, module: string, firmware: string) => {
      if (!runId) return 'missing' as const
      const v = history.runVerdicts(runId, t.target).filter((x) => x.module === module && x.firmware === firmware)
      return v.length === 0
        ? ('missing' as const)
        : v.some((x) => x.outcome === 'pass')
          ? ('pass' as const)
          : v.some((x) => x.outcome === 'fail')
            ? ('fail' as const)
            : ('not-run' as const)
    }
    out.push({
      target: t.target,
      before: { chainHash: before.chainHash, observedAt: before.observedAt, runId: before.runId },
      after: { chainHash: after.chainHash, observedAt: after.observedAt, runId: after.runId },
      added: added.map(name),
      removed: removed.map(name),
      addedCerts: added,
      removedCerts: removed,
      ...describeChainChange(before, after, facts),
      verdicts: columns
        .map((c) => ({
          module: c.module,
          firmware: c.firmware,
          before: verdictIn(before.runId, c.module, c.firmware),
          after: verdictIn(after.runId, c.module, c.firmware),
        }))
        .filter((v) => v.after !== 'missing'),
    })
  }
  return out
}

/** Signature hashes no server may rely on: the strict twin of a profile refuses them. */
const WEAK_HASHES: readonly string[] = ['md5', 'sha1']

/** Caches over one report: parsed certificates, signature checks, summaries and profiles. */
class Context {
  private readonly parsed = new Map<string, ParsedCert | null>()
  private readonly summaries = new Map<string, CertSummary | null>()
  private readonly issued = new Map<string, boolean>()
  private readonly shipped = new Map<string, FirmwareProfile>()
  private readonly columnProfiles = new Map<string, FirmwareProfile>()
  private readonly strings = new Map<string, string>()
  private readonly seeded = new Set<number>()
  private readonly helloKeys = new WeakMap<FirmwareProfile, string>()

  /** Certificate facts for the words of a chain change (shared by the diff and the chain changes). */
  readonly certFacts: (sha: string) => ChainCertFacts | null

  constructor(
    private readonly history: HistoryStore,
    private readonly runs: ReadonlyMap<string, HistoryRun>,
  ) {
    this.certFacts = historyCertFacts(history)
  }

  /** Runs stored before profile snapshots: their profile ids are looked up among the shipped ones. */
  async loadFallbackProfiles(runs: readonly HistoryRun[]): Promise<void> {
    for (const r of runs) {
      if (r.profiles) continue
      for (const d of r.devices) {
        if (!d.profile || this.shipped.has(d.profile)) continue
        try {
          this.shipped.set(d.profile, await loadProfile(d.profile))
        } catch {
          // No snapshot and no shipped profile of that id: its cells are predicted "unknown".
        }
      }
    }
  }

  profileOf(runId: string, device: string, profileId: string | null): FirmwareProfile | null {
    const run = this.runs.get(runId)
    // Looked up as an own key: a device label is data (`constructor` is a valid one).
    const snapshot = run?.profiles && Object.hasOwn(run.profiles, device) ? run.profiles[device] : undefined
    // A snapshot that cannot be read is not replaced by a shipped profile: the run was not judged with it.
    if (run?.profilesUnreadable) return snapshot ?? null
    return snapshot ?? (profileId ? (this.shipped.get(profileId) ?? null) : null)
  }

  intern(s: string): string {
    const hit = this.strings.get(s)
    if (hit !== undefined) return hit
    if (this.strings.size < 100_000) this.strings.set(s, s)
    return s
  }

  summary(sha: string): CertSummary | undefined {
    let s = this.summaries.get(sha)
    if (s === undefined) {
      const c = this.history.certificate(sha)
      s = c
        ? {
            sha256: c.sha256,
            subject: c.subject,
            name: displayName(c.subject),
            issuer: c.issuer,
            key: keyText(c),
            bytes: c.bytes,
            notBefore: c.notBefore,
            notAfter: c.notAfter,
            selfSigned: c.selfSigned,
          }
        : null
      this.summaries.set(sha, s)
    }
    return s ?? undefined
  }

  private parse(sha: string): ParsedCert | null {
    let p = this.parsed.get(sha)
    if (p === undefined) {
      const row = this.history.certificateForJudging(sha)
      try {
        p = row ? storedCertificate(row.der, row.fields) : null
      } catch {
        p = null
      }
      // Bounded: a leaf is met once per target and firmware, CAs come back often enough.
      if (this.parsed.size >= 30_000) this.parsed.delete(this.parsed.keys().next().value as string)
      this.parsed.set(sha, p)
    }
    return p
  }

  /** The observations a prediction rests on: their verified paths answer before any signature check. */
  private pathSources: Array<HistoryObservation | null> = []

  private issuedBy = (child: ParsedCert, issuer: ParsedCert): boolean => {
    const k = `${child.info.sha256}${issuer.info.sha256}`
    let v = this.issued.get(k)
    if (v === undefined) {
      for (const o of this.pathSources) this.learnPaths(o)
      v = this.issued.get(k)
    }
    if (v === undefined) this.issued.set(k, (v = issuedBy(child, issuer)))
    return v
  }

  /** Signatures the resolver verified (its paths, leaf first) need no second check. */
  private learnPaths(o: HistoryObservation | null): void {
    if (!o || this.seeded.has(o.id)) return
    this.seeded.add(o.id)
    for (const path of o.paths)
      for (let i = 0; i + 1 < path.length; i++) this.issued.set(`${path[i]}${path[i + 1]}`, true)
  }

  helloKey(profile: FirmwareProfile): string {
    let k = this.helloKeys.get(profile)
    if (!k) this.helloKeys.set(profile, (k = helloHash(helloOf(profile))))
    return k
  }

  /**
   * The predictor on one attempt with the profile's checks that can be off (validity, host name)
   * switched on: what a module making every check would refuse, for an unsafe accept's why.
   */
  strictPredictionOf(a: AttemptRow, own: HistoryObservation | null, broad: HistoryObservation | null): StrictJudgement {
    const profile = this.profileOf(a.runId, a.device, a.profile)
    if (!profile) return { prediction: this.predictWith(null, a, own, broad), off: {} }
    const t = profile.tls
    const off: Record<string, string> = {}
    if (!t.checkValidity) off.checkValidity = 'checkValidity false'
    if (!t.checkHostname) off.checkHostname = 'checkHostname false'
    const weak = t.certificateSignatureHashes.filter((x) => WEAK_HASHES.includes(x))
    if (weak.length) off.certificateSignatureHashes = `certificateSignatureHashes lists ${weak.join(', ')}`
    const strict: FirmwareProfile = {
      ...profile,
      tls: {
        ...t,
        checkValidity: true,
        checkHostname: true,
        certificateSignatureHashes: t.certificateSignatureHashes.filter((x) => !WEAK_HASHES.includes(x)),
      },
    }
    return { prediction: this.predictWith(strict, a, own, broad), off }
  }

  /** The predictor on one attempt, with the facts its run observed. */
  predictionOf(a: AttemptRow, own: HistoryObservation | null, broad: HistoryObservation | null): Prediction {
    return this.predictWith(this.profileOf(a.runId, a.device, a.profile), a, own, broad)
  }

  /** The predictor on one attempt (its chain, its CA, its time) with the given profile. */
  private predictWith(
    profile: FirmwareProfile | null,
    a: AttemptRow,
    own: HistoryObservation | null,
    broad: HistoryObservation | null,
  ): Prediction {
    if (!profile)
      return {
        verdict: 'unknown',
        class: null,
        reasons: [
          {
            code: 'no-profile',
            text: this.runs.get(a.runId)?.profilesUnreadable
              ? `the profile snapshots of run ${a.runId} cannot be read (see the rows the report could not read)`
              : `no profile snapshot for ${a.device} in run ${a.runId} and no shipped profile ${a.profile ?? '?'}`,
            cert: null,
          },
        ],
      }
    this.pathSources = [own, broad]
    const source = own && own.errorCode === null ? own : broad
    const served = (source?.served ?? []).map((s) => this.parse(s))
    if (served.some((c) => c === null))
      return {
        verdict: 'unknown',
        class: null,
        reasons: [{ code: 'chain-missing', text: 'a served certificate is missing from the database', cert: null }],
      }
    const ca = a.anchor === '-' ? null : this.parse(a.anchor)
    return predict({
      profile,
      served: served as ParsedCert[],
      ca,
      host: a.host,
      now: new Date(a.recordedAt),
      server: { own: own ? fact(own) : null, broad: broad ? fact(broad) : null },
      issued: this.issuedBy,
    })
  }

  /**
   * Cells for the chosen (target, module, firmware) → run; rows gain any target only attempts name.
   * One run's observations are in memory at a time (attempts come by run, then target).
   */
  cells(
    latest: ReadonlyArray<{ target: string; module: string; firmware: string; runId: string }>,
    rows: Map<string, TargetRow>,
  ): { cells: Cell[]; byId: Map<string, Cell>; byTarget: Set<string> } {
    const chosen = new Map(latest.map((l) => [cellId(l.target, columnKey(l.module, l.firmware)), l.runId]))
    const runIds = [...new Set(latest.map((l) => l.runId))]
    const cells: Cell[] = []
    let obsRun: string | null = null
    let obs = new Map<string, HistoryObservation[]>()
    const broadHello = helloHash(DEFAULT_HELLO)
    // One run's attempts of one target, split into a cell per module@firmware (several devices).
    const flush = (group: readonly CellAttempt[]) => {
      if (group.length === 0) return
      const first = group[0]!
      if (obsRun !== first.runId) {
        obs = this.history.runObservations(first.runId)
        obsRun = first.runId
      }
      let row = rows.get(first.target)
      if (!row)
        rows.set(
          first.target,
          (row = {
            target: first.target,
            host: first.host,
            port: first.port,
            path: first.path,
            tags: [],
            expect: first.expect,
          }),
        )
      const byColumn = new Map<string, CellAttempt[]>()
      for (const a of group)
        byColumn.set(columnKey(a.module, a.firmware), [...(byColumn.get(columnKey(a.module, a.firmware)) ?? []), a])
      for (const attempts of byColumn.values()) {
        const a = attempts[0]!
        const profile = this.profileOf(a.runId, a.device, a.profile)
        const seen = obs.get(a.target) ?? []
        const ownHello = profile ? this.helloKey(profile) : null
        // An observation whose chain or anchors cannot be read is no evidence (it is listed as unreadable).
        const readable = (o: HistoryObservation | undefined) => (o && !o.unreadable ? o : null)
        let own = readable(seen.findLast((o) => o.hello === ownHello))
        let broad = readable(seen.findLast((o) => o.hello === broadHello))
        // Runs stored before observations named their run: the attempt's own observation.
        if (!own && !broad && a.observationId !== null) {
          const o = this.history.observation(a.observationId)
          // An observation whose chain cannot be read is neither: no prediction rests on it.
          if (o && !o.unreadable) {
            if (o.hello === ownHello) own = o
            else broad = o
          }
        }
        const shownObs = own && own.errorCode === null ? own : (broad ?? own)
        const chain: CellChain | null = shownObs
          ? {
              observedAt: shownObs.observedAt,
              chain: shownObs.served,
              chainHash: shownObs.chainHash,
              protocol: shownObs.protocol,
              cipher: shownObs.cipher,
            }
          : null
        const cell = buildCell({
          row,
          attempts,
          cert: (s) => this.summary(s),
          predictionOf: (x) => this.predictionOf(x, own, broad),
          strictPredictionOf: (x) => this.strictPredictionOf(x, own, broad),
          chain,
          rig: this.runs.get(a.runId)?.rig ?? null,
          gaps: this.gapsOf(a.runId, attempts),
          untried: profile ? untriedCandidates(profile, own, broad, attempts) : [],
        })
        cell.evidence.provenance = this.provenanceOf(cell, attempts)
        cell.module = this.intern(cell.module)
        cell.firmware = this.intern(cell.firmware)
        cell.key = this.intern(cell.key)
        cell.runId = this.intern(cell.runId)
        cells.push(cell)
      }
    }
    // One run at a time: its attempts and observations in memory, then let go.
    for (const runId of runIds) {
      for (const attempts of this.history.runFinalAttempts(runId).values()) {
        flush(
          attempts
            .filter(inColumn)
            .filter((a) => chosen.get(cellId(a.target, columnKey(a.module, a.firmware))) === runId),
        )
      }
    }
    const byId = new Map(cells.map((c) => [cellId(c.target, c.key), c]))
    return { cells, byId, byTarget: new Set(cells.map((c) => c.target)) }
  }

  /** The profile a cell was judged with: its run's snapshot for its device. */
  private cellProfile(c: Cell): FirmwareProfile | null {
    const device = this.runs.get(c.runId)?.devices.find((d) => d.label === c.evidence.device)
    return this.profileOf(c.runId, c.evidence.device, device?.profile ?? null)
  }

  /** A target's observation with the broad hello in one run: what the server sent whatever the client. */
  private broadIn(runId: string, target: string): HistoryObservation | null {
    const broad = helloHash(DEFAULT_HELLO)
    return (
      this.history.targetObservations(runId, target).findLast((o) => o.hello === broad && o.chainHash !== null) ?? null
    )
  }

  /**
   * Whether a verdict that differs between two cells is the server's doing: their runs saw
   * different chains (with the broad hello, so a firmware's own offer cannot make the difference),
   * how, and, between two firmware, what the baseline's profile predicts for the candidate's run
   * (its chain, the CAs it tried, its handshake facts). Null when both saw the same chain.
   */
  explainChange(b: Cell, a: Cell): ChangeExplanation | null {
    if (b.runId === a.runId) return null
    const before = this.broadIn(b.runId, b.target)
    const after = this.broadIn(a.runId, a.target)
    if (!before || !after || before.chainHash === after.chainHash) return null
    const { summary: chain, brief } = describeChainChange(before, after, this.certFacts)
    if (b.key === a.key) return { chain, brief, baselineOnNew: null }
    const profile = this.cellProfile(b)
    const tried = this.history
      .targetFinalAttempts(a.runId, a.target)
      .filter((x) => x.module === a.module && x.firmware === a.firmware && x.outcome !== 'not-run')
    const seen = this.history.targetObservations(a.runId, a.target)
    const own = profile ? (seen.findLast((o) => o.hello === this.helloKey(profile)) ?? null) : null
    const broad = seen.findLast((o) => o.hello === helloHash(DEFAULT_HELLO)) ?? null
    const ps = tried.map((x) => this.predictWith(profile, x, own, broad))
    const verdict = ps.some((p) => p.verdict === 'pass')
      ? 'pass'
      : ps.length > 0 && ps.every((p) => p.verdict === 'fail')
        ? 'fail'
        : 'unknown'
    const reasons = verdict === 'unknown' ? [...new Set(ps.flatMap((p) => p.reasons.map((r) => r.text)))] : []
    return { chain, brief, baselineOnNew: { verdict, reasons: ps.length ? reasons : ['the candidate tried no CA'] } }
  }

  private readonly plans = new Map<string, Map<string, string[]> | null>()

  /** For a cell of a run that did not end complete: the CAs its plan gave it, and why the run ended. */
  private gapsOf(runId: string, attempts: readonly AttemptRow[]): CellGaps | null {
    const run = this.runs.get(runId)
    if (!run || run.status === 'complete') return null
    let plan = this.plans.get(runId)
    if (plan === undefined) this.plans.set(runId, (plan = this.history.runPlanned(runId)))
    const lost = run.devices.filter((d) => d.lost).map((d) => `${d.label}: ${d.lost}`)
    const why =
      run.status === 'interrupted'
        ? 'the run was interrupted'
        : run.status === 'device-lost'
          ? `the device was lost${lost.length ? ` (${lost.join('; ')})` : ''}`
          : `the run did not end (status ${run.status})`
    if (!plan) return { planned: null, why }
    const planned = new Set<string>()
    for (const d of new Set(attempts.map((a) => a.device)))
      for (const sha of plan.get(`${d}\u0000${attempts[0]!.target}`) ?? []) planned.add(sha)
    return { planned: [...planned], why }
  }

  private readonly guessIndex = new Map<string, number>()

  /** The GUESS notes cells refer to, in the order first met (each written once in report.json). */
  guessNotes(): string[] {
    return [...this.guessIndex.keys()]
  }

  /**
   * Where the cell's verdict came from: the device URL its run recorded for the device of the
   * attempt shown, and for an emulated module, the profile's GUESS notes its verdict rests on.
   */
  private provenanceOf(cell: Cell, attempts: readonly AttemptRow[]): Provenance {
    const device = cell.evidence.device
    const run = this.runs.get(cell.runId)
    const url = run?.devices.find((d) => d.label === device)?.url ?? null
    const kind = deviceKind(url)
    const a = attempts.find((x) => x.device === device) ?? attempts[0]!
    const profile = this.profileOf(a.runId, a.device, a.profile)
    const guesses =
      kind === 'emu' && profile
        ? guessNotesFor(profile.notes, cell).map((n) => {
            let i = this.guessIndex.get(n)
            if (i === undefined) this.guessIndex.set(n, (i = this.guessIndex.size))
            return i
          })
        : []
    return { url, kind, profile: profile?.id ?? a.profile, guesses }
  }

  columns(cells: readonly Cell[]): FirmwareColumn[] {
    const seen = new Map<string, FirmwareColumn>()
    for (const c of cells) {
      if (seen.has(c.key)) continue
      const run = this.runs.get(c.runId)
      const device = run?.devices.find((d) => d.module === c.module && d.firmware === c.firmware)
      const profile = device ? this.profileOf(c.runId, device.label, device.profile) : null
      if (profile) this.columnProfiles.set(c.key, profile)
      seen.set(c.key, {
        module: c.module,
        firmware: c.firmware,
        key: c.key,
        profileId: profile?.id ?? device?.profile ?? null,
        store: profile ? { ...profile.store } : null,
      })
    }
    return [...seen.values()].sort(
      (a, b) => a.module.localeCompare(b.module) || compareVersions(a.firmware, b.firmware),
    )
  }

  dialectOf(key: string): string | null {
    return this.columnProfiles.get(key)?.dialect ?? null
  }

  /**
   * A diff side: `MODULE@FIRMWARE` or `run:RUN_ID` (that run's cells, which must hold one
   * module@firmware). Against another firmware, `MODULE@FIRMWARE` is its column as selected; when
   * --run leaves it out, or the other side is a run (`otherRun`, never its own baseline), it is
   * the latest complete run of that firmware (within --run, else in the whole history). A
   * selector with no data is an input error naming it.
   */
  selection(
    sel: string,
    byId: ReadonlyMap<string, Cell>,
    columns: readonly FirmwareColumn[],
    rows: Map<string, TargetRow>,
    runFilter: readonly string[],
    perColumn: boolean,
    otherRun: string | null,
  ): Map<string, Cell> {
    const out = new Map<string, Cell>()
    if (sel.startsWith('run:')) {
      const id = sel.slice(4)
      if (!this.runs.has(id)) {
        notSurvey(this.history, sel, id)
        throw new AppError('REPORT_NO_DATA', `${sel}: no such run in the database`)
      }
      const latest = this.history.latestRuns([id])
      const keys = [...new Set(latest.map((l) => columnKey(l.module, l.firmware)))]
      if (keys.length === 0) throw new AppError('REPORT_NO_DATA', `${sel}: the run has no final attempt`)
      if (keys.length > 1 && !perColumn)
        throw new AppError(
          'USAGE',
          `${sel} holds ${keys.join(', ')}: compare it with another run:RUN_ID, or name one firmware, e.g. --run ${id} --baseline ${keys[0]}`,
        )
      for (const c of this.cells(latest, rows).cells) out.set(perColumn ? cellId(c.target, c.key) : c.target, c)
      return out
    }
    if (!/^[^@\s]+@[^@\s]+$/.test(sel))
      throw new AppError('USAGE', `selector "${sel}": expected MODULE@FIRMWARE (e.g. SPWF04SA@1.1.0) or run:RUN_ID`)
    if (otherRun === null && columns.some((c) => c.key === sel)) {
      for (const c of byId.values()) if (c.key === sel) out.set(c.target, c)
      return out
    }
    const at = sel.indexOf('@')
    const [module, firmware] = [sel.slice(0, at), sel.slice(at + 1)]
    const exclude = otherRun ? [otherRun] : []
    const runId =
      (runFilter.length ? this.history.latestCompleteRunOf(module, firmware, { exclude, within: runFilter }) : null) ??
      this.history.latestCompleteRunOf(module, firmware, { exclude })
    if (!runId) {
      const known = this.history.firmwareWithVerdicts()
      const near = known.find((k) => k.toLowerCase() === sel.toLowerCase() && k !== sel)
      throw new AppError(
        'REPORT_NO_DATA',
        `${sel}: no verdict for it in any complete run in the database${otherRun ? ` (other than run ${otherRun}, the one it is compared with)` : ''}; ${near ? `did you mean ${near}? ` : ''}there is: ${known.join(', ') || 'none'}`,
      )
    }
    const latest = this.history.latestRuns([runId]).filter((l) => l.module === module && l.firmware === firmware)
    for (const c of this.cells(latest, rows).cells) out.set(perColumn ? cellId(c.target, c.key) : c.target, c)
    return out
  }
}

/**
 * The candidate CAs the run's resolution found for this module (as its plan chooses them: the
 * observation it planned from, the profile's matching) that no attempt of the cell names: with
 * `--anchors first` only the preferred one is tried, and a fail then says nothing of the others.
 */
function untriedCandidates(
  profile: FirmwareProfile,
  own: HistoryObservation | null,
  broad: HistoryObservation | null,
  attempts: readonly AttemptRow[],
): string[] {
  // The plan's source: the module's own resolution when it got a chain, else the broad one.
  const source = own && own.served.length > 0 ? own : broad
  if (!source) return []
  const tried = new Set(attempts.map((a) => a.anchor))
  return candidatesFor(source.candidates, profile, source.served)
    .map((c) => c.sha256)
    .filter((sha) => !tried.has(sha))
}

/** A learn run's probes are no verdicts: asked for one, say what it is rather than "no such run". */
function notSurvey(history: HistoryStore, what: string, id: string): void {
  if (history.runKind(id) === 'learn')
    throw new AppError(
      'USAGE',
      `${what}: run ${id} is a learn run (tlsmatrix learn: probes that made a firmware profile), not a survey; a report reads survey runs only`,
    )
}

function fact(o: HistoryObservation): HandshakeFact {
  return {
    ok: o.errorCode === null,
    protocol: o.protocol,
    cipher: o.cipher,
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
  }
}
