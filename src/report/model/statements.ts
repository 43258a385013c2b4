import type { Cell, FirmwareColumn, Statement } from './types.js'

/**
 * For docs, per module and target: the first firmware that passes, and later ones that fail
 * again; a target reached only with an intermediate uploaded says which. Columns come in version
 * order. Made from complete evidence only: a module with an incomplete cell for the target (a run
 * interrupted before every planned CA was tried) gets no statement for it, since the untried CAs
 * could change it. Pure.
 */
export function buildStatements(
  columns: readonly FirmwareColumn[],
  cells: ReadonlyMap<string, Cell>,
  targets: ReadonlyArray<{ target: string; host: string; port: number }>,
  certName: (sha: string) => string = (sha) => sha.slice(0, 16),
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
      const incomplete = mine.some((c) => {
        const cell = cells.get(cellId(t.target, c.key))
        return cell !== undefined && (cell.complete === false || cell.notRun?.reason === 'incomplete')
      })
      if (incomplete) continue
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
      // Passing firmware on which only an intermediate passed: the CA to upload is that intermediate.
      const passing = verdicts.filter((v) => v.cell!.verdict === 'pass')
      const onlyInter = passing.filter((v) => v.cell!.onlyIntermediate)
      const inters = [...new Set(onlyInter.flatMap((v) => v.cell!.anchors.passed))].map((n) => `"${certName(n)}"`)
      const only =
        onlyInter.length === 0
          ? ''
          : onlyInter.length === passing.length
            ? `, only with the intermediate ${inters.join(' or ')} uploaded`
            : `; on ${onlyInter.map((v) => v.firmware).join(', ')} only with the intermediate ${inters.join(' or ')} uploaded`
      out.push({
        module,
        target: t.target,
        from,
        failsAgainOn: again,
        text: `${module} reaches ${name} from ${from}${again.length ? `, but not on ${again.join(', ')}` : ''}${only}`,
      })
    }
  }
  return out
}

export function cellId(target: string, key: string): string {
  return `${target}\u0000${key}`
}
