import type { Writable } from 'node:stream'
import type { Cell, DiffEntry, FirmwareColumn, ReportModel, TargetRow } from '../model/types.js'
import { deviceName, provenanceText } from '../model/provenance.js'
import { put } from './sink.js'
import { certName, oneLine, unreadableText, xmlAttr, xmlText } from './text.js'

/** What one testcase says: a failure (with why), skipped (with the reason), or passed. */
export type TestcaseResult =
  | { kind: 'failure'; type: string; message: string; body: string }
  | { kind: 'skipped'; message: string }
  | { kind: 'passed' }

/**
 * The diff entries (regressions, or changes blamed on the server's chain) testcases carry, looked
 * up by target and firmware: the testcase of the candidate's cell (its column when firmware columns are compared, the same column when runs
 * are), never another column of the same target.
 */
function byTestcase(entries: readonly DiffEntry[] | undefined): Map<string, DiffEntry> {
  const out = new Map<string, DiffEntry>()
  for (const r of entries ?? []) if (r.candidateKey) out.set(`${r.target}\u0000${r.candidateKey}`, r)
  return out
}

/**
 * A testcase fails for a failed cell (unless the target must be rejected: then failing is the
 * expected result), for an `expect=` mismatch (an unsafe accept included) and for a diff
 * regression; a failure the diff blames on the server's chain says it is none; a not-run cell,
 * or a target with no data in the column, is skipped.
 */
export function testcaseResult(
  model: ReportModel,
  cell: Cell | undefined,
  regression: DiffEntry | undefined,
  chainChanged?: DiffEntry,
): TestcaseResult {
  const types: string[] = []
  const body: string[] = []
  // Each sentence once (a regression's why repeats the cell's own), pushed one by one: a spread of
  // some 125,000 lines (a database from another rig) overflows the call stack.
  const said = new Set<string>()
  const say = (lines: readonly string[]) => {
    for (const l of lines.map(oneLine)) {
      if (said.has(l)) continue
      said.add(l)
      body.push(l)
    }
  }
  if (cell?.verdict === 'fail' && cell.expect !== 'fail') {
    types.push('fail')
    body.push(`Failed: ${cell.class ?? 'unknown class'}.`)
    if (chainChanged?.chainWhy)
      body.push(
        `Not a regression from ${model.diff?.baseline ?? '?'} to ${model.diff?.candidate ?? '?'}: ${oneLine(chainChanged.chainWhy.text)}, so --fail-on regression does not count it (it is still a failure of ${chainChanged.candidateKey ?? 'the candidate'}).`,
      )
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
    const fw = (key: string | null) => (key ? `${key} ` : '')
    body.push(
      `Regression from ${model.diff?.baseline ?? '?'} to ${model.diff?.candidate ?? '?'}: ${fw(regression.baselineKey)}${side(regression.before, regression.beforeClass)} → ${fw(regression.candidateKey)}${side(regression.after, regression.afterClass)}.`,
    )
    say(regression.why)
  }
  if (types.length) {
    const lines = cell?.lines ?? []
    const message = `${cell?.class ?? cell?.verdict ?? 'no data'}${lines.length ? `: ${lines.join(' | ')}` : ''}`
    if (cell) {
      // Each untrusted piece on its own line, its controls written out (the body's own line breaks stay).
      say(cell.why)
      if (cell.evidence.anchor)
        body.push(
          `Anchor: ${oneLine(certName(model.certificates, cell.evidence.anchor))} (sha256 ${cell.evidence.anchor}).`,
        )
      if (lines.length) {
        body.push('Module lines:')
        for (const l of lines) body.push(`  ${oneLine(l)}`)
      }
      body.push(`Evidence: attempt ${cell.evidence.attemptId} of run ${cell.runId} on ${cell.evidence.device}.`)
      // Emulated or real: an emulated verdict follows the profile, with the guesses it rests on.
      body.push(`${oneLine(provenanceText(cell.evidence.provenance, cell.evidence.device))}.`)
      for (const i of cell.evidence.provenance?.guesses ?? []) {
        const note = model.guessNotes?.[i]
        if (note) body.push(`  profile guess: ${oneLine(note)}`)
      }
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
 * The testcase's device, as properties (the form pytest and GitLab read): its URL, its kind and
 * whether it was emulated, so a CI view tells a verdict of a profile from one of a module.
 */
function deviceProperties(cell: Cell | undefined): string {
  if (!cell) return ''
  const p = cell.evidence.provenance
  const prop = (name: string, value: string) => `        <property name="${name}" value="${xmlAttr(value)}"/>\n`
  return (
    '      <properties>\n' +
    prop('device', p?.url ? deviceName(p.url) : cell.evidence.device) +
    prop('device_kind', p?.kind ?? 'unknown') +
    prop('emulated', p?.kind === 'emu' ? 'true' : p?.kind ? 'false' : 'unknown') +
    '      </properties>\n'
  )
}

function testcaseXml(classname: string, name: string, r: TestcaseResult, cell?: Cell): string {
  const open = `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(name)}"`
  const props = deviceProperties(cell)
  if (r.kind === 'passed') return props ? `${open}>\n${props}    </testcase>\n` : `${open}/>\n`
  if (r.kind === 'skipped')
    return `${open}>\n${props}      <skipped message="${xmlAttr(r.message)}"/>\n    </testcase>\n`
  return `${open}>\n${props}      <failure message="${xmlAttr(r.message)}" type="${xmlAttr(r.type)}">${xmlText(r.body)}</failure>\n    </testcase>\n`
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
  const regressions = byTestcase(model.diff?.regressions)
  const chainChanged = byTestcase(model.diff?.chainChanged)
  // Results are made again when written: only their kinds are kept for the counts, not 100,000 bodies.
  const result = (f: FirmwareColumn, t: TargetRow) => {
    const id = `${t.target}\u0000${f.key}`
    return testcaseResult(model, cells.get(id), regressions.get(id), chainChanged.get(id))
  }
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
    for (const t of model.targets)
      await put(out, testcaseXml(f.key, t.target, result(f, t), cells.get(`${t.target}\u0000${f.key}`)))
    await put(out, '  </testsuite>\n')
  }
  await put(out, '</testsuites>\n')
}
