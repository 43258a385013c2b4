import type { DevicePlan, NotRun } from '../plan/index.js'
import type { FailureClass } from '../profile/index.js'
import type { AttemptRow, RunDevice } from '../store/index.js'
import { leavesNoWord } from './model/cells.js'

export interface MatrixCell {
  /**
   * `incomplete`: CAs failed but others planned for the target were not judged (the run was
   * interrupted, the device lost, the budget spent, no complete answer): no fail is claimed.
   */
  verdict: 'pass' | 'fail' | 'not-run' | 'pending' | 'incomplete'
  /** Planned CAs without the module's word (incomplete cells); null when the plan was never stored. */
  left?: number | null
  /** Anchors that passed, of those tried. */
  passed: number
  tried: number
  /** Failure classes met, most frequent first. */
  classes: FailureClass[]
  /** Why not run: the reason codes, an unresolved target's cause with it. */
  notes: string[]
  /** True when the target's expect= disagrees with the verdict: a finding. */
  mismatch: boolean
}

export interface Matrix {
  devices: RunDevice[]
  rows: Array<{ target: string; expect: string | null; cells: Map<string, MatrixCell> }>
  mismatches: Array<{ target: string; device: string; expect: string; verdict: string }>
}

/**
 * Final verdicts of a run as a target × device matrix. Pure. `unfinished` is set for a run that
 * did not end complete, with its stored plan (null: stopped before the plan was stored): a cell
 * whose planned CAs were not all judged is then incomplete, not a fail.
 */
export function buildMatrix(
  devices: RunDevice[],
  attempts: readonly AttemptRow[],
  targetOrder: readonly string[],
  unfinished: { plan: DevicePlan[] | null } | null = null,
): Matrix {
  // Only final rows: a not-run marked for retry (device lost, link) is not the cell's last word.
  const finals = attempts.filter((a) => a.final)
  const byTarget = new Map<string, AttemptRow[]>()
  for (const a of finals) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a])
  const order = [...targetOrder, ...[...byTarget.keys()].filter((t) => !targetOrder.includes(t))]
  const matrix: Matrix = { devices, rows: [], mismatches: [] }
  for (const target of order) {
    const rows = byTarget.get(target) ?? []
    const expect = rows.find((r) => r.expect)?.expect ?? null
    const cells = new Map<string, MatrixCell>()
    for (const d of devices) {
      const mine = rows.filter((r) => r.device === d.label)
      const ran = mine.filter((r) => r.outcome !== 'not-run' && r.final)
      const passed = ran.filter((r) => r.outcome === 'pass').length
      const counts = new Map<FailureClass, number>()
      for (const r of ran) if (r.class) counts.set(r.class, (counts.get(r.class) ?? 0) + 1)
      const judged = new Set(
        mine.filter((r) => r.outcome !== 'not-run' || !leavesNoWord(r.reason)).map((r) => r.anchor),
      )
      const noWord = new Set(mine.filter((r) => !judged.has(r.anchor)).map((r) => r.anchor))
      const planned = !unfinished
        ? []
        : unfinished.plan === null
          ? null
          : unfinished.plan
              .filter((p) => p.device === d.label)
              .flatMap((p) =>
                p.groups.filter((g) => g.items.some((i) => i.target === target)).map((g) => g.anchor.sha256),
              )
      const left = planned === null ? null : new Set([...planned.filter((sha) => !judged.has(sha)), ...noWord]).size
      const verdict: MatrixCell['verdict'] =
        passed > 0
          ? 'pass'
          : ran.length > 0
            ? left === 0
              ? 'fail'
              : 'incomplete'
            : mine.length > 0
              ? 'not-run'
              : 'pending'
      const mismatch = (expect === 'fail' && verdict === 'pass') || (expect === 'pass' && verdict === 'fail')
      const notes = [
        ...new Set(mine.filter((r) => r.outcome === 'not-run' && r.reason).map((r) => reasonText(r.reason!))),
      ]
      cells.set(d.label, {
        verdict,
        passed,
        tried: ran.length,
        classes: [...counts].sort((a, b) => b[1] - a[1]).map(([c]) => c),
        notes,
        mismatch,
        ...(verdict === 'incomplete' ? { left } : {}),
      })
      if (mismatch) matrix.mismatches.push({ target, device: d.label, expect: expect, verdict })
    }
    matrix.rows.push({ target, expect, cells })
  }
  return matrix
}

/** The reason as the matrix shows it: the code, and for an unresolved target its cause. */
export function reasonText(r: NotRun): string {
  return r.reason === 'unresolved' ? `unresolved (${r.detail})` : r.reason
}
