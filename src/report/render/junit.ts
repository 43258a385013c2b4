import type { Writable } from 'node:stream'
import type { Cell, DiffEntry, FirmwareColumn, ReportModel, TargetRow } from '../model/types.js'
import { put } from './sink.js'
import { certName, oneLine, unreadableText, xmlAttr, xmlText } from './text.js'

/** What one testcase says: a failure (with why), skipped (with the reason), or passed. */
export type TestcaseResult =
  | { kind: 'failure'; type: string; message: string; body: string }
  | { kind: 'skipped'; message: string }
  | { kind: 'passed' }

/**
 * The regression (if any) a testcase carries: when the diff compares firmware columns, the
 * candidate column's testcase; when it compares runs, each column of the target whose verdict is
 * the regression's "after".
 */
function regressionsByTestcase(model: ReportModel, cells: Map<string, Cell>): Map<string, DiffEntry> {
  const out = new Map<string, DiffEntry>()
  const d = model.diff
  if (!d) return out
  const candidateIsColumn = model.firmware.some((f) => f.key === d.candidate)
  for (const r of d.regressions) {
    for (const f of model.firmware) {
      const key = `${r.target}\u0000${f.key}`
      if (candidateIsColumn ? f.key === d.candidate : cells.get(key)?.verdict === r.after) out.set(key, r)
    }
  }
  return out
}

/**
 * A testcase fails for a failed cell (unless the target must be rejected: then failing is the
 * expected result), for an `expect=` mismatch (an unsafe accept included) and for a diff
 * regression; a not-run cell, or a target with no data in the column, is skipped.
 */
export function testcaseResult(
  model: ReportModel,
  cell: Cell | undefined,
  regression: DiffEntry | undefined,
): TestcaseResult {
  const types: string[] = []
  const body: string[] = []
  if (cell?.verdict === 'fail' && cell.expect !== 'fail') {
    types.push('fail')
    body.push(`Failed: ${cell.class ?? 'unknown class'}.`)
  }
  if (cell?.mismatch) {
    types.push(cell.unsafe ? 'unsafe' : 'mismatch')
    body.push(
      cell.unsafe
        ? 'UNSAFE: the module accepted a target that must be rejected (expect=fail).'
        : `expect=${cell.expect ?? '?'} but the verdict is ${cell.verdict}.`,
    )
  }
  if (regression) {
    types.push('regression')
    const side = (v: string, cls: string | null) => `${v}${cls ? ` (${cls})` : ''}`
    body.push(
      `Regression from ${model.diff?.baseline ?? '?'} to ${model.diff?.candidate ?? '?'}: ${side(regression.before, regression.beforeClass)} → ${side(regression.after, regression.afterClass)}.`,
    )
    append(body, regression.why)
  }
  if (types.length) {
    const lines = cell?.lines ?? []
    const message = `${cell?.class ?? cell?.verdict ?? 'no data'}${lines.length ? `: ${lines.join(' | ')}` : ''}`
    if (cell) {
      append(body, cell.why)
      if (cell.evidence.anchor)
        body.push(`Anchor: ${certName(model.certificates, cell.evidence.anchor)} (sha256 ${cell.evidence.anchor}).`)
      if (lines.length) {
        body.push('Module lines:')
        for (const l of lines) body.push(`  ${l}`)
      }
      body.push(`Evidence: attempt ${cell.evidence.attemptId} of run ${cell.runId} on ${cell.evidence.device}.`)
    }
    return { kind: 'failure', type: types.join(' '), message: oneLine(message), body: body.join('\n') }
  }
  if (!cell) return { kind: 'skipped', message: 'no data' }
  if (cell.verdict === 'not-run')
    return {
      kind: 'skipped',
      message: oneLine(
        cell.notRun ? `${cell.notRun.reason}${cell.notRun.detail ? `: ${cell.notRun.detail}` : ''}` : 'not-run',
      ),
    }
  return { kind: 'passed' }
}

/**
 * Appends one by one: `push(...items)` passes every item as an argument, and a cell with some
 * 125,000 module lines (a database from another rig) overflows the call stack.
 */
function append(to: string[], items: readonly string[]): void {
  for (const item of items) to.push(item)
}

function testcaseXml(classname: string, name: string, r: TestcaseResult): string {
  const open = `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(name)}"`
  if (r.kind === 'passed') return `${open}/>\n`
  if (r.kind === 'skipped') return `${open}>\n      <skipped message="${xmlAttr(r.message)}"/>\n    </testcase>\n`
  return `${open}>\n      <failure message="${xmlAttr(r.message)}" type="${xmlAttr(r.type)}">${xmlText(r.body)}</failure>\n    </testcase>\n`
}

function counts(kinds: ReadonlyArray<TestcaseResult['kind']>): string {
  const n = (k: TestcaseResult['kind']) => kinds.filter((x) => x === k).length
  return `tests="${kinds.length}" failures="${n('failure')}" errors="0" skipped="${n('skipped')}"`
}

/**
 * Streams `junit.xml`: one testsuite per firmware column (`MODULE@FIRMWARE`), one testcase per
 * target in it (classname the column, name the target), in the model's order. Escaping is done
 * here (text.ts), not by xmlbuilder2, whose serializer keeps entity-looking `&…;` as it is.
 * `out` is left open for the caller to end.
 */
export async function writeJunit(model: ReportModel, out: Writable): Promise<void> {
  const cells = new Map(model.cells.map((c) => [`${c.target}\u0000${c.key}`, c]))
  const regressions = regressionsByTestcase(model, cells)
  // Results are made again when written: only their kinds are kept for the counts, not 100,000 bodies.
  const result = (f: FirmwareColumn, t: TargetRow) =>
    testcaseResult(model, cells.get(`${t.target}\u0000${f.key}`), regressions.get(`${t.target}\u0000${f.key}`))
  const kinds = model.firmware.map((f) => model.targets.map((t) => result(f, t).kind))
  // Rows of the database left out: a testcase may be missing for them, so every suite says so.
  const u = model.unreadable
  const unreadable =
    u && u.rows.length
      ? oneLine(
          `${u.rows.length + u.more} row(s) of the database could not be read and were left out (see report.json or matrix.md): ${u.rows
            .slice(0, 5)
            .map(unreadableText)
            .join(' / ')}${u.rows.length + u.more > 5 ? ', …' : ''}`,
        )
      : null
  await put(
    out,
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xmlAttr(model.title)}" ${counts(kinds.flat())}>\n`,
  )
  for (const [i, f] of model.firmware.entries()) {
    await put(
      out,
      `  <testsuite name="${xmlAttr(f.key)}" ${counts(kinds[i]!)}>\n    <properties>\n` +
        `      <property name="module" value="${xmlAttr(f.module)}"/>\n      <property name="firmware" value="${xmlAttr(f.firmware)}"/>\n` +
        (f.profileId ? `      <property name="profile" value="${xmlAttr(f.profileId)}"/>\n` : '') +
        (unreadable ? `      <property name="unreadable-rows" value="${xmlAttr(unreadable)}"/>\n` : '') +
        '    </properties>\n',
    )
    for (const t of model.targets) await put(out, testcaseXml(f.key, t.target, result(f, t)))
    await put(out, '  </testsuite>\n')
  }
  await put(out, '</testsuites>\n')
}
