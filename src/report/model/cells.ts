import { displayName } from '../../chain/display-name.js'
import type { Prediction } from '../../predict/index.js'
import type { NotRun, NotRunReason } from '../../plan/index.js'
import type { AttemptRow } from '../../store/index.js'
import { preferAnchors } from './anchors.js'
import { unsafeWhy, type StrictJudgement } from './skipped.js'
import { columnKey } from './versions.js'
import type { Cell, CertSummary, TargetRow } from './types.js'

/** What the module was served for the cell's run (its own ClientHello's resolution). */
export interface CellChain {
  observedAt: string
  chain: string[]
  chainHash: string | null
  protocol: string | null
  cipher: string | null
}

/** An attempt of a cell: of a module@firmware known (the others are in no column). */
export type CellAttempt = AttemptRow & { module: string; firmware: string }

/** Whether an attempt is of a known module@firmware, so that it can be in a cell. */
export function inColumn(a: AttemptRow): a is CellAttempt {
  return a.module !== null && a.firmware !== null
}

export interface CellInput {
  row: TargetRow
  /** The final attempts of one target on one module@firmware, from one run. */
  attempts: readonly CellAttempt[]
  cert: (sha: string) => CertSummary | undefined
  /** The predictor's word on one attempt with a verdict. */
  predictionOf: (a: CellAttempt) => Prediction
  chain: CellChain | null
  /** The rig of the cell's run. */
  rig: string | null
  /**
   * Set when the cell's run did not end complete (interrupted, device lost, still running): the
   * CAs its plan gave this target on this firmware (null when the run stopped before its plan was
   * stored: which remain is unknown) and why the run ended early, in words.
   */
  gaps?: CellGaps | null
  /**
   * The profile's strict twin on one attempt (every check it can switch off switched on): for an
   * unsafe accept, the check the module skipped. Absent: the why says the profile cannot tell.
   */
  strictPredictionOf?: (a: CellAttempt) => StrictJudgement
  /**
   * Candidate CAs the run's resolution found for this module that it never tried (`--anchors
   * first` tries the preferred one only), sha256. A fail then holds for the CA(s) tried only.
   */
  untried?: readonly string[]
}

export interface CellGaps {
  planned: string[] | null
  why: string
}

/**
 * Not-run reasons that leave a planned CA without the module's word on it: the budget ran out,
 * the device was lost, or the module gave no complete answer twice (link, unrecognized). A cell
 * whose every other CA failed is then incomplete, not a fail. The other reasons are findings
 * about the CA itself (too large, refused, untrusted, the target refused): the module cannot use
 * it, which is complete evidence.
 */
export const NO_WORD_REASONS: readonly NotRunReason[] = ['budget', 'device-lost', 'link', 'unrecognized']

/** A not-run reason that leaves the CA without the module's word (NO_WORD_REASONS). */
export function leavesNoWord(reason: NotRun | null): boolean {
  return reason !== null && NO_WORD_REASONS.includes(reason.reason)
}

/**
 * One cell of the matrix from its final attempts. Pure. A cell passes when any anchor passed;
 * it fails when anchors were tried and none passed; it is not-run when none got a verdict.
 * The evidence shown is the preferred passing anchor's attempt, else the first failure's.
 */
export function buildCell(input: CellInput): Cell {
  const { row, attempts, cert } = input
  const first = attempts[0]!
  const ran = attempts.filter((a) => a.outcome !== 'not-run')
  const order = preferAnchors(
    attempts.map((a) => a.anchor),
    cert,
  )
  const rank = (a: CellAttempt) => order.indexOf(a.anchor)
  // Candidates the plan held but the run did not reach are the incomplete cell's (gaps), not these.
  const untriedCas = [...new Set(input.untried ?? [])].filter((sha) => !(input.gaps?.planned ?? []).includes(sha))
  const byPreference = [...attempts].sort((a, b) => rank(a) - rank(b) || a.id - b.id)
  const passed = byPreference.filter((a) => a.outcome === 'pass')
  const failed = byPreference.filter((a) => a.outcome === 'fail')
  // CAs the plan gave this cell that the module has not judged (not tried, or no word on them).
  const judged = new Set(
    attempts.filter((a) => a.outcome !== 'not-run' || !leavesNoWord(a.reason)).map((a) => a.anchor),
  )
  const noWord = [
    ...new Set(attempts.filter((a) => a.outcome === 'not-run' && !judged.has(a.anchor)).map((a) => a.anchor)),
  ]
  const gaps = input.gaps ?? null
  const untried = gaps?.planned ? gaps.planned.filter((sha) => !judged.has(sha) && !noWord.includes(sha)) : []
  const complete = noWord.length === 0 && untried.length === 0 && !(gaps && gaps.planned === null)
  // A fail is only what the module said of every planned CA: with any left, the cell is incomplete.
  const incomplete = passed.length === 0 && ran.length > 0 && !complete
  const verdict: Cell['verdict'] = passed.length > 0 ? 'pass' : ran.length > 0 && !incomplete ? 'fail' : 'not-run'
  const shown =
    passed[0] ?? failed[0] ?? byPreference.find((a) => a.reason?.reason !== 'untrusted-anchor') ?? byPreference[0]!
  const predictions = new Map(ran.map((a) => [a.id, input.predictionOf(a)]))
  const predicted = combinePredictions([...predictions.values()])
  const predictedClass =
    predicted === 'fail'
      ? (predictions.get(shown.id)?.class ?? [...predictions.values()].find((p) => p.class)?.class ?? null)
      : null
  const observedClass = verdict === 'fail' ? shown.class : null
  // A module that says only that it failed (`unspecified`) agrees with any failing prediction: the why is the prediction's.
  const disagree =
    verdict !== 'not-run' &&
    predicted !== 'unknown' &&
    (predicted !== verdict ||
      (verdict === 'fail' &&
        predictedClass !== null &&
        observedClass !== 'unspecified' &&
        predictedClass !== observedClass))
  const name = (sha: string) =>
    cert(sha)?.name ?? displayName(attempts.find((a) => a.anchor === sha)?.anchorSubject ?? sha)
  const why: string[] = []
  if (verdict === 'fail' || (verdict === 'pass' && disagree)) {
    const explained =
      verdict === 'fail' ? failed : byPreference.filter((a) => predictions.get(a.id)?.verdict === 'fail')
    // Anchors that fail for the same reasons are named together; one reason for all names none.
    const byReason = new Map<string, string[]>()
    for (const a of explained) {
      const p = predictions.get(a.id)
      const texts =
        p && p.reasons.length > 0
          ? p.reasons.map((r) => r.text)
          : [`the module said ${a.class ?? 'fail'}; the profile gives no reason for it`]
      for (const t of texts) byReason.set(t, [...new Set([...(byReason.get(t) ?? []), a.anchor])])
    }
    const anchorsTried = new Set(explained.map((a) => a.anchor)).size
    for (const [text, anchors] of byReason)
      why.push(anchors.length === anchorsTried ? text : `with ${anchors.map(name).join(', ')}: ${text}`)
    // The reader must know this why is the tool's, not the module's: it said only that it failed.
    if (verdict === 'fail' && observedClass === 'unspecified' && predicted === 'fail') {
      why.unshift(
        `the module said only that it failed; predicted from its profile and the served chain: ${predictedClass ?? 'fail'}`,
      )
    }
  }
  if (row.expect === 'fail' && verdict === 'pass') {
    // The check the module skipped, named from the predictor's facts on the passing attempt.
    const accepted = passed[0]!
    why.push(
      unsafeWhy(
        name(accepted.anchor),
        predictions.get(accepted.id) ?? null,
        input.strictPredictionOf?.(accepted) ?? null,
      ),
    )
  }
  let incompleteWhy: string | null = null
  if (incomplete) {
    const failedText = [...new Set(failed.map((a) => `${name(a.anchor)} (${a.class ?? 'fail'})`))].join(', ')
    const left = [
      ...noWord.map((sha) => {
        const a = attempts.find((x) => x.anchor === sha)!
        return `${name(sha)} (${a.reason?.reason ?? 'no verdict'}${a.reason?.detail ? `: ${a.reason.detail}` : ''})`
      }),
      ...untried.map((sha) => `${name(sha)} (not tried: ${gaps?.why ?? 'the run ended early'})`),
    ]
    incompleteWhy =
      left.length > 0
        ? `${left.length} of ${left.length + new Set(failed.map((a) => a.anchor)).size} planned CA(s) without the module's word: ${left.join('; ')}`
        : `the run ended before its plan was complete (${gaps?.why ?? 'unknown'}): other CAs may have been planned`
    why.unshift(
      `incomplete: the module failed with ${failedText}, but not every planned CA was tried, so this is no fail; ${incompleteWhy}`,
    )
  }
  if (verdict === 'fail' && untriedCas.length > 0) {
    // The module's word is on the CA(s) tried only: the others might have passed.
    const triedNames = [...new Set(failed.map((a) => a.anchor))].map((sha) => `"${name(sha)}"`)
    why.push(
      `failed with ${triedNames.length === 1 ? `the one CA tried, ${triedNames[0]}` : `the ${triedNames.length} CAs tried (${triedNames.join(', ')})`}; ${untriedText(untriedCas, name)}`,
    )
  }
  if (verdict === 'pass' && !passed.some((a) => cert(a.anchor)?.selfSigned !== false)) {
    // Every passing CA is an intermediate: what a team must upload is that intermediate.
    const inters = [...new Set(passed.map((a) => a.anchor))]
    const notSent = passed.filter((a) => a.anchorSource.startsWith('aia')).map((a) => a.anchor)
    const roots = [...new Set(failed.filter((a) => cert(a.anchor)?.selfSigned).map((a) => a.anchor))]
    const rootWhy = roots.map((sha) => {
      const a = failed.find((x) => x.anchor === sha)!
      const r = predictions.get(a.id)?.reasons[0]?.text
      return `with the root "${name(sha)}" it fails (${a.class ?? 'fail'})${r ? `: ${r}` : ''}`
    })
    const only = complete && untriedCas.length === 0
    why.push(
      `passes ${only ? 'only ' : ''}with the intermediate ${inters.map((x) => `"${name(x)}"`).join(' or ')} uploaded${
        notSent.length
          ? ` (the server does not send ${notSent.length === inters.length ? 'it' : `"${name(notSent[0]!)}"`}: found through AIA)`
          : ''
      }${rootWhy.length ? `; ${rootWhy.join('; ')}` : complete ? '; no root CA was tried for this module' : ''}${
        complete ? '' : '; not every planned CA was tried'
      }${untriedCas.length ? `; ${untriedText(untriedCas, name)}` : ''}`,
    )
  }
  // A must-reject target with no CA of its own was tried with a borrowed one: say which and why.
  if (row.expect === 'fail') for (const note of new Set(attempts.map((a) => a.note).filter((n) => n))) why.push(note!)
  const notRunRow = verdict === 'not-run' && !incomplete ? shown : null
  if (notRunRow)
    why.push(
      notRunRow.reason?.reason === 'unresolved'
        ? `not run: the target could not be resolved (${notRunRow.reason.detail})`
        : `not run: ${notRunRow.reason?.reason ?? 'unknown'}${notRunRow.reason?.detail ? `: ${notRunRow.reason.detail}` : ''}`,
    )
  const mismatch = (row.expect === 'fail' && verdict === 'pass') || (row.expect === 'pass' && verdict === 'fail')
  return {
    target: row.target,
    host: row.host,
    port: row.port,
    tags: row.tags,
    module: first.module,
    firmware: first.firmware,
    key: columnKey(first.module, first.firmware),
    verdict,
    class: observedClass,
    expect: row.expect,
    mismatch,
    unsafe: row.expect === 'fail' && verdict === 'pass',
    anchors: { passed: [...new Set(passed.map((a) => a.anchor))], failed: [...new Set(failed.map((a) => a.anchor))] },
    lines: shown.lines,
    why,
    predicted,
    predictedClass,
    disagree,
    notRun: incomplete
      ? { reason: 'incomplete', detail: incompleteWhy ?? '' }
      : notRunRow
        ? { reason: notRunRow.reason?.reason ?? 'unknown', detail: notRunRow.reason?.detail ?? '' }
        : null,
    complete,
    ...(untriedCas.length ? { untried: untriedCas } : {}),
    onlyIntermediate:
      verdict === 'pass' &&
      complete &&
      untriedCas.length === 0 &&
      !passed.some((a) => cert(a.anchor)?.selfSigned !== false),
    runId: first.runId,
    observedAt: input.chain?.observedAt ?? null,
    evidence: {
      attemptId: shown.id,
      device: shown.device,
      rig: input.rig,
      recordedAt: shown.recordedAt,
      anchor: shown.anchor === '-' ? null : shown.anchor,
      upload: shown.upload,
      chain: input.chain?.chain ?? [],
      chainHash: input.chain?.chainHash ?? null,
      protocol: input.chain?.protocol ?? null,
      cipher: input.chain?.cipher ?? null,
    },
  }
}

/** The candidate CAs a run did not try, in words, with what to do about it. */
export function untriedText(untried: readonly string[], name: (sha: string) => string): string {
  const n = untried.length
  return `${n} other candidate CA${n === 1 ? '' : 's'} (${untried.map((sha) => `"${name(sha)}"`).join(', ')}) ${n === 1 ? 'was' : 'were'} not tried (a run with --anchors first tries only the preferred one): run with --anchors all to try ${n === 1 ? 'it' : 'them'}`
}

/** Pass when any anchor is predicted to pass, fail when every one is predicted to fail, else unknown. */
function combinePredictions(ps: readonly Prediction[]): Cell['predicted'] {
  if (ps.length === 0) return 'unknown'
  if (ps.some((p) => p.verdict === 'pass')) return 'pass'
  return ps.every((p) => p.verdict === 'fail') ? 'fail' : 'unknown'
}
