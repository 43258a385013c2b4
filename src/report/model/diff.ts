import type { Cell, Diff, DiffEntry } from './types.js'

/**
 * Why a verdict changed between two cells seen in different runs: the server's chain changed
 * (`chain` says how), and, when the two sides are different firmware, what the baseline firmware
 * is predicted to say of the chain the candidate was served.
 */
export interface ChangeExplanation {
  chain: string
  /** The same change without certificate names (describeChainChange's `brief`). */
  brief: string
  /** Null for the same firmware on both sides (a nightly): the chain change is the news. */
  baselineOnNew: { verdict: 'pass' | 'fail' | 'unknown'; reasons: string[] } | null
}

/**
 * Baseline against candidate, per target (in row order). A regression is pass → fail, or a
 * must-reject target newly accepted; a fix the reverse; changed: the same verdict with another
 * class or other lines. A side without a verdict cannot be compared and says so. Cells are
 * paired by `order` ids: per target, or per target and module@firmware when two runs are compared.
 *
 * A change is blamed on what changed: between two firmware whose runs saw different chains, a
 * verdict that the baseline firmware is predicted to give on the new chain too is the server's
 * doing (`chainChanged`), one it is predicted not to give is the firmware's (a regression or a
 * fix), and one that cannot be predicted is not comparable. The same firmware in two runs (a
 * nightly) keeps its regression, saying how the chain changed. Pure.
 */
export function diffCells(
  baseline: string,
  candidate: string,
  before: ReadonlyMap<string, Cell>,
  after: ReadonlyMap<string, Cell>,
  order: ReadonlyArray<{ id: string; target: string; key: string | null }>,
  explain: (b: Cell, a: Cell) => ChangeExplanation | null = () => null,
): Diff {
  const diff: Diff = {
    baseline,
    candidate,
    regressions: [],
    fixes: [],
    changed: [],
    same: [],
    notComparable: [],
    chainChanged: [],
    unsafe: [],
    baselineRuns: [...new Set([...before.values()].map((c) => c.runId))].sort(),
    candidateRuns: [...new Set([...after.values()].map((c) => c.runId))].sort(),
  }
  for (const { id, target, key } of order) {
    const b = before.get(id)
    const a = after.get(id)
    if (!b && !a) continue
    const named = key ? `${target} on ${key}` : a ? `${target} on ${a.key}` : target
    if (a?.unsafe) diff.unsafe.push(named)
    const entry: DiffEntry = {
      target,
      key,
      baselineKey: b?.key ?? null,
      candidateKey: a?.key ?? null,
      before: b?.verdict ?? 'missing',
      after: a?.verdict ?? 'missing',
      beforeClass: b?.class ?? null,
      afterClass: a?.class ?? null,
      chain: null,
      chainWhy: null,
      why: [],
    }
    if (!b || !a || b.verdict === 'not-run' || a.verdict === 'not-run') {
      entry.why = [
        ...(b?.verdict === 'not-run' ? [`${baseline}: ${b.why.join('; ')}`] : []),
        ...(a?.verdict === 'not-run' ? [`${candidate}: ${a.why.join('; ')}`] : []),
        ...(!b ? [`${baseline} has no verdict for it`] : []),
        ...(!a ? [`${candidate} has no verdict for it`] : []),
      ]
      diff.notComparable.push(entry)
      continue
    }
    const mustReject = (a.expect ?? b.expect) === 'fail'
    const worse = mustReject
      ? b.verdict === 'fail' && a.verdict === 'pass'
      : b.verdict === 'pass' && a.verdict === 'fail'
    const better = mustReject
      ? b.verdict === 'pass' && a.verdict === 'fail'
      : b.verdict === 'fail' && a.verdict === 'pass'
    const own = worse
      ? mustReject
        ? [`must-reject target now accepted by ${a.key}`, ...a.why]
        : a.why
      : b.why.map((w) => `was: ${w}`)
    // A fail with candidate CAs left untried (--anchors first) holds for the CA(s) tried only: set
    // against a pass with a CA the failing side never tried, it tells nothing about the firmware.
    const [passed, failed] = worse ? [b, a] : [a, b]
    if (
      (worse || better) &&
      !mustReject &&
      (failed.untried?.length ?? 0) > 0 &&
      !passed.anchors.passed.some((sha) => failed.anchors.failed.includes(sha))
    ) {
      const failedSide = worse ? candidate : baseline
      entry.why = [
        `${failedSide} failed with the CA(s) it tried only, and not with the one(s) that passed on ${worse ? baseline : candidate}, which it never tried (--anchors first tries only the preferred CA): run it with --anchors all to compare`,
        ...own,
      ]
      diff.notComparable.push(entry)
      continue
    }
    if (worse || better) {
      const x = explain(b, a)
      entry.chain = x?.chain ?? null
      const was = `${b.module} ${b.firmware}`
      // The chain sentence, in the report's words and again without certificate names (summary.txt).
      const say = (tail: (brief: boolean) => string) => {
        if (!x) return null
        const sentence = (brief: boolean) =>
          `the server's chain changed between the runs (${brief ? x.brief : x.chain})${tail(brief)}`
        entry.chainWhy = { text: sentence(false), brief: sentence(true) }
        return entry.chainWhy.text
      }
      if (x?.baselineOnNew?.verdict === a.verdict) {
        entry.why = [say(() => `; ${was} is predicted to ${a.verdict} the new chain too`)!, ...own]
        diff.chainChanged.push(entry)
        continue
      }
      if (x?.baselineOnNew?.verdict === 'unknown') {
        const reasons = x.baselineOnNew.reasons
        entry.why = [
          say(
            (brief) =>
              `; whether ${was} would ${a.verdict} the new chain too cannot be predicted${reasons.length && !brief ? `: ${reasons.join('; ')}` : ''}`,
          )!,
          ...own,
        ]
        diff.notComparable.push(entry)
        continue
      }
      const chainWhy = x
        ? say(() =>
            x.baselineOnNew
              ? `, but ${was} is predicted to ${b.verdict} the new chain: the firmware makes the difference`
              : '',
          )
        : null
      entry.why = chainWhy ? [chainWhy, ...own] : own
      ;(worse ? diff.regressions : diff.fixes).push(entry)
    } else if (a.class !== b.class || a.lines.join('\n') !== b.lines.join('\n')) {
      entry.why = [...b.why.map((w) => `before: ${w}`), ...a.why.map((w) => `after: ${w}`)]
      diff.changed.push(entry)
    } else {
      diff.same.push(named)
    }
  }
  return diff
}

/** The cells a diff marks in the matrix, by cell id (target and candidate column): regressed or fixed. */
export function diffMarks(diff: Diff | null): Map<string, 'regressed' | 'fixed'> {
  const out = new Map<string, 'regressed' | 'fixed'>()
  if (!diff) return out
  for (const [list, mark] of [
    [diff.regressions, 'regressed'],
    [diff.fixes, 'fixed'],
  ] as const)
    for (const e of list) if (e.candidateKey) out.set(`${e.target}\u0000${e.candidateKey}`, mark)
  return out
}

/** How many entries of the diff compare two verdicts (a gate over none compared nothing). */
export function comparedCount(diff: Diff): number {
  return diff.regressions.length + diff.fixes.length + diff.changed.length + diff.same.length + diff.chainChanged.length
}

/**
 * A diff's counts in words, as the terminal and summary.txt both say them: regressions, fixes,
 * changed, same, and when there are any, those that changed with the server's chain (not blamed on
 * the firmware) and those not comparable.
 */
export function diffCountsText(d: Diff): string {
  return diffCounts(d).join(', ')
}

/** diffCountsText's parts, regressions and fixes first, for a format that styles them (HTML). */
export function diffCounts(d: Diff): string[] {
  return [
    `${d.regressions.length} regression(s)`,
    `${d.fixes.length} fix(es)`,
    `${d.changed.length} changed`,
    `${d.same.length} same`,
    ...(d.chainChanged.length
      ? [`${d.chainChanged.length} changed with the server's chain (not blamed on the firmware)`]
      : []),
    ...(d.notComparable.length ? [`${d.notComparable.length} not comparable`] : []),
  ]
}

/**
 * Why two selectors cannot be compared because they are one (the same firmware, the same run, or
 * this run twice): such a diff finds no change by construction, so a gate on it would pass
 * without judging anything. Null when they differ.
 */
export function sameSidesWhy(
  baseline: string,
  candidate: string,
  names: readonly [string, string] = ['--baseline', '--candidate'],
): string | null {
  if (baseline !== candidate) return null
  return `${names[0]} and ${names[1]} are both ${baseline}: a selector compared with itself finds no regression by construction, so the diff would judge nothing; compare two firmware or two runs`
}

/**
 * The two sides as a reader needs them: a firmware compared with a run names the run it was
 * taken from (the latest complete one of that firmware, found in the whole history).
 */
export function sideLabels(d: Diff): [string, string] {
  const label = (sel: string, runs: readonly string[], other: string) =>
    !sel.startsWith('run:') && other.startsWith('run:') && runs.length === 1 ? `${sel} (run ${runs[0]})` : sel
  return [label(d.baseline, d.baselineRuns, d.candidate), label(d.candidate, d.candidateRuns, d.baseline)]
}
