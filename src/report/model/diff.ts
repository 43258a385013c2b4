import type { Cell, Diff, DiffEntry } from './types.js'

/**
 * Baseline against candidate, per target (in row order). A regression is pass → fail, or a
 * must-reject target newly accepted; a fix the reverse; changed: the same verdict with another
 * class or other lines. A side without a verdict cannot be compared and says so. Cells are
 * paired by `order` ids: per target, or per target and module@firmware when two runs are compared. Pure.
 */
export function diffCells(
  baseline: string,
  candidate: string,
  before: ReadonlyMap<string, Cell>,
  after: ReadonlyMap<string, Cell>,
  order: ReadonlyArray<{ id: string; target: string; key: string | null }>,
): Diff {
  const diff: Diff = {
    baseline,
    candidate,
    regressions: [],
    fixes: [],
    changed: [],
    same: [],
    notComparable: [],
    unsafe: [],
  }
  for (const { id, target, key } of order) {
    const b = before.get(id)
    const a = after.get(id)
    if (!b && !a) continue
    const named = key ? `${target} on ${key}` : target
    if (a?.unsafe) diff.unsafe.push(named)
    const entry: DiffEntry = {
      target,
      key,
      before: b?.verdict ?? 'missing',
      after: a?.verdict ?? 'missing',
      beforeClass: b?.class ?? null,
      afterClass: a?.class ?? null,
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
    if (worse) {
      entry.why = mustReject ? [`must-reject target now accepted by ${candidate}`, ...a.why] : a.why
      diff.regressions.push(entry)
    } else if (better) {
      entry.why = b.why.map((w) => `was: ${w}`)
      diff.fixes.push(entry)
    } else if (a.class !== b.class || a.lines.join('\n') !== b.lines.join('\n')) {
      entry.why = [...b.why.map((w) => `before: ${w}`), ...a.why.map((w) => `after: ${w}`)]
      diff.changed.push(entry)
    } else {
      diff.same.push(named)
    }
  }
  return diff
}
