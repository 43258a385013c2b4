import type { Cell, FirmwareColumn, Statement } from './types.js'

/**
 * For docs, per module and target: the first firmware that passes, and later ones that fail
 * again; a target reached only with an intermediate uploaded says which; a must-reject target
 * (expect=fail) is "rejected as expected" or "accepted". Columns come in version order. Made from
 * complete evidence only: a module with an incomplete cell for the target (a run interrupted
 * before every planned CA was tried) gets no statement for it, since the untried CAs could change
 * it; a fail with candidate CAs left untried (`--anchors first`) is said as what it is, the
 * module's word on the CA(s) tried, never "does not reach". Pure.
 */
export function buildStatements(
  columns: readonly FirmwareColumn[],
  cells: ReadonlyMap<string, Cell>,
  targets: ReadonlyArray<{ target: string; host: string; port: number; expect?: 'pass' | 'fail' | null }>,
  certName: (sha: string) => string = (sha) => sha.slice(0, 16),
): Statement[] {
  const modules = [...new Set(columns.map((c) => c.module))]
  const out: Statement[] = []
  for (const module of modules) {
    const mine = columns.filter((c) => c.module === module)
    for (const t of targets) {
      const all = mine
        .map((c) => ({ firmware: c.firmware, cell: cells.get(cellId(t.target, c.key)) }))
        .filter((v): v is { firmware: string; cell: Cell } => v.cell !== undefined && v.cell.verdict !== 'not-run')
      if (all.length === 0) continue
      const incomplete = mine.some((c) => {
        const cell = cells.get(cellId(t.target, c.key))
        return cell !== undefined && (cell.complete === false || cell.notRun?.reason === 'incomplete')
      })
      if (incomplete) continue
      const name = t.port === 443 ? t.host : t.target
      // A fail with candidate CAs never tried is no evidence that the firmware cannot reach it.
      const partial = all.filter((v) => v.cell.verdict === 'fail' && (v.cell.untried?.length ?? 0) > 0)
      const verdicts = all.filter((v) => !partial.includes(v))
      const partialText = partial.map((v) => {
        const tried = v.cell.anchors.failed.map((sha) => `"${certName(sha)}"`)
        const n = v.cell.untried!.length
        return `${module} ${v.firmware} failed ${name} with ${tried.length === 1 ? `the one CA tried (${tried[0]})` : `the ${tried.length} CAs tried (${tried.join(', ')})`}; ${n} other candidate CA${n === 1 ? ' was' : 's were'} not tried (--anchors first tries only the preferred one): run with --anchors all`
      })
      const tail = partialText.length ? `; ${partialText.join('; ')}` : ''
      const only1 = all.length === 1
      const list = (vs: ReadonlyArray<{ firmware: string }>) => vs.map((v) => v.firmware).join(', ')
      if (verdicts.length === 0) {
        out.push({ module, target: t.target, from: null, failsAgainOn: [], text: partialText.join('; ') })
        continue
      }
      const mustReject = t.expect === 'fail'
      // "On every firmware surveyed" only when they are every one and more than one; one is named as the only one.
      const onWhich = (vs: ReadonlyArray<{ firmware: string }>, every: string) =>
        only1
          ? `on ${vs[0]!.firmware}, the only firmware surveyed`
          : vs.length === all.length
            ? `${every} (${list(vs)})`
            : `on ${list(vs)}`
      const firstPass = verdicts.findIndex((v) => v.cell.verdict === 'pass')
      if (firstPass < 0) {
        out.push({
          module,
          target: t.target,
          from: null,
          failsAgainOn: [],
          text: mustReject
            ? `${module} rejects ${name} ${onWhich(verdicts, 'on every firmware surveyed')}, as expected (expect=fail)${tail}`
            : `${module} does not reach ${name} ${onWhich(verdicts, 'on any firmware surveyed')}${tail}`,
        })
        continue
      }
      const from = verdicts[firstPass]!.firmware
      const again = verdicts
        .slice(firstPass + 1)
        .filter((v) => v.cell.verdict === 'fail')
        .map((v) => v.firmware)
      const passing = verdicts.filter((v) => v.cell.verdict === 'pass')
      if (mustReject) {
        const rejecting = verdicts.filter((v) => v.cell.verdict === 'fail')
        out.push({
          module,
          target: t.target,
          from,
          failsAgainOn: again,
          text: `${module} accepts ${name} on ${list(passing)}, though it must reject it (expect=fail)${rejecting.length ? `; it rejects it on ${list(rejecting)}` : ''}${tail}`,
        })
        continue
      }
      // Passing firmware on which only an intermediate passed: the CA to upload is that intermediate.
      const onlyInter = passing.filter((v) => v.cell.onlyIntermediate)
      const inters = [...new Set(onlyInter.flatMap((v) => v.cell.anchors.passed))].map((n) => `"${certName(n)}"`)
      const only =
        onlyInter.length === 0
          ? ''
          : onlyInter.length === passing.length
            ? `, only with the intermediate ${inters.join(' or ')} uploaded`
            : `; on ${list(onlyInter)} only with the intermediate ${inters.join(' or ')} uploaded`
      const where =
        passing.length === all.length
          ? onWhich(passing, 'on every firmware surveyed')
          : `from ${from}${again.length ? `, but not on ${again.join(', ')}` : ''}`
      out.push({
        module,
        target: t.target,
        from,
        failsAgainOn: again,
        text: `${module} reaches ${name} ${where}${only}${tail}`,
      })
    }
  }
  return out
}

export function cellId(target: string, key: string): string {
  return `${target}\u0000${key}`
}
