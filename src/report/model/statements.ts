import type { Cell, FirmwareColumn, Statement } from './types.js'

/**
 * For docs, per module and target: the first firmware that passes, and later ones that fail
 * again. Columns come in version order. Pure.
 */
export function buildStatements(
  columns: readonly FirmwareColumn[],
  cells: ReadonlyMap<string, Cell>,
  targets: ReadonlyArray<{ target: string; host: string; port: number }>,
): Statement[] {
  const modules = [...new Set(columns.map((c) => c.module))]
  const out: Statement[] = []
  for (const module of modules) {
    const mine = columns.filter((c) => c.module === module)
    for (const t of targets) {
      const verdicts = mine
        .map((c) => ({ firmware: c.firmware, cell: cells.get(cellId(t.target, c.key)) }))
        .filter((v) => v.cell && v.cell.verdict !== 'not-run')
      if (verdicts.length === 0) continue
      const name = t.port === 443 ? t.host : t.target
      const firstPass = verdicts.findIndex((v) => v.cell!.verdict === 'pass')
      if (firstPass < 0) {
        out.push({
          module,
          target: t.target,
          from: null,
          failsAgainOn: [],
          text: `${module} does not reach ${name} on any firmware surveyed (${verdicts.map((v) => v.firmware).join(', ')})`,
        })
        continue
      }
      const from = verdicts[firstPass]!.firmware
      const again = verdicts
        .slice(firstPass + 1)
        .filter((v) => v.cell!.verdict === 'fail')
        .map((v) => v.firmware)
      out.push({
        module,
        target: t.target,
        from,
        failsAgainOn: again,
        text: `${module} reaches ${name} from ${from}${again.length ? `, but not on ${again.join(', ')}` : ''}`,
      })
    }
  }
  return out
}

export function cellId(target: string, key: string): string {
  return `${target}\u0000${key}`
}
