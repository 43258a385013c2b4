import { termSafe } from '../../core/sanitize.js'
import type { FirmwareProfile } from '../../profile/index.js'
import type { LearnEnd, ProbeOutcome, UploadOutcome } from '../../learn/index.js'
import { FIELD_PATHS, getField, sameValue } from '../../learn/index.js'
import type { LearnEvent } from '../../jobs/learn.js'
import type { Io } from '../io.js'

const show = (v: unknown): string => {
  if (v === null) return 'none'
  if (v === undefined) return '—'
  if (Array.isArray(v))
    return v.length ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') : '(none)'
  if (typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k} ${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join(', ')
  // Profile values are JSON: a string as it is, anything else as JSON (a number reads the same).
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** A cell cut to `n` characters says it was cut: a list that looks complete but is not would mislead. */
const cell = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

/** Field, value, how it was obtained, and whether the base profile says the same. */
export function learnText(p: FirmwareProfile, base: FirmwareProfile, out: string, end: LearnEnd): string {
  const l = p.learned!
  const rows = FIELD_PATHS.map((path) => {
    const f = l.fields[path]
    const v = getField(p, path)
    const b = getField(base, path)
    const vs =
      f?.method === 'assumed'
        ? 'assumed'
        : sameValue(path, v, b)
          ? 'same'
          : `differs (${base.id}: ${cell(termSafe(show(b)), 60)})`
    return [path, cell(termSafe(show(v)), 70), f?.method ?? '?', vs]
  })
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 5))
  const lines = [
    `${p.module} ${p.firmware}${p.build ? ` (build ${termSafe(p.build)})` : ''}: learned from the module, compared with ${base.id}`,
    '',
    ...rows.map((r) => `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]}`),
    '',
  ]
  const differs = rows.filter((r) => r[3]!.startsWith('differs')).length
  lines.push(
    `${differs === 0 ? `no measured field differs from ${base.id}` : `${differs} measured field(s) differ from ${base.id}`}`,
  )
  if (l.unknown.length)
    lines.push(
      `${end.stoppedBy === 'budget' ? 'partial profile, the budget was spent: ' : ''}${l.unknown.length} field(s) not measured (their values are ${base.id}'s): ${l.unknown.map((u) => `${u.field} (${termSafe(u.why)})`).join('; ')}`,
    )
  lines.push(
    `cost: ${l.cost.uploads} uploads, ${l.cost.requests} requests, ${(l.cost.deviceMs / 1000).toFixed(1)} s of device time (learn run ${l.runId})`,
  )
  lines.push(`wrote ${out}`)
  return `${lines.join('\n')}\n`
}

/** `--json`: the same, for scripts. */
export function learnJson(p: FirmwareProfile, base: FirmwareProfile, out: string, end: LearnEnd): unknown {
  const l = p.learned!
  return {
    profile: out,
    id: p.id,
    module: p.module,
    firmware: p.firmware,
    build: p.build,
    runId: l.runId,
    base: base.id,
    partial: end.stoppedBy,
    cost: l.cost,
    fields: FIELD_PATHS.map((path) => ({
      field: path,
      value: getField(p, path) ?? null,
      ...l.fields[path],
      base: getField(base, path) ?? null,
      same: sameValue(path, getField(p, path), getField(base, path)),
    })),
    unknown: l.unknown,
    facts: l.facts,
  }
}

const resumeHint = (e: { runId: string; device: string; dbPath: string }) =>
  `finish it with:\n  tlsmatrix learn --resume ${e.runId} --device ${e.device} --db ${e.dbPath}\n`

/** What a learn says on stderr while it runs: its module, each probe, resets, and how to resume. */
export function writeLearnEvent(e: LearnEvent, io: Io): void {
  switch (e.kind) {
    case 'stopping':
      io.stderr.write(
        '\nstopping: the probe in flight finishes, nothing new starts (Ctrl-C again leaves now; the learn run is kept as interrupted)\n',
      )
      return
    case 'insist':
      io.stderr.write(`\nlearn run ${e.runId} interrupted; ${resumeHint(e)}`)
      return
    case 'started': {
      const id = e.identity
      io.stderr.write(
        `learn: ${id.module} ${id.firmware ?? '(version unknown)'}${id.build ? ` build ${termSafe(id.build)}` : ''} on ${termSafe(e.device)}, compared with ${e.base}; run ${e.runId}${e.replayed ? ` (resumed: ${e.replayed} probes already done)` : ''}\n`,
      )
      return
    }
    case 'probe':
      io.stderr.write(`  ${progressLine(e.probe, e.what)}\n`)
      return
    case 'recover':
      io.stderr.write(`  (module reset: ${termSafe(e.what).slice(0, 160)})\n`)
      return
    case 'ended-early':
      io.stderr.write(
        `learn run ${e.runId} ${e.status}${e.status === 'device-lost' ? `: ${termSafe(e.lost ?? '')}` : ''}; ${resumeHint(e)}`,
      )
      return
    case 'bug':
      io.stderr.write(
        `learn run ${e.runId} interrupted by a bug in tlsmatrix (not the module's fault); ${resumeHint(e)}`,
      )
      return
    case 'unwritten':
      io.stderr.write(
        `learn run ${e.runId}: the profile could not be written; write it elsewhere with:\n  tlsmatrix learn --resume ${e.runId} --device ${e.device} --db ${e.dbPath} --out OTHER_FILE\n`,
      )
      return
  }
}

function progressLine(p: ProbeOutcome | UploadOutcome, what: string): string {
  if ('accepted' in p)
    return `${p.id}: ${p.accepted ? 'taken' : 'refused'}${p.lines.length && !p.accepted ? ` (${termSafe(p.lines.join(' / ')).slice(0, 100)})` : ''}`
  const said = p.errorLines.length ? ` (${termSafe(p.errorLines.join(' / ')).slice(0, 100)})` : ''
  return `${p.id}: ${p.outcome}${p.outcome === 'fail' ? said : ''}${p.replayed ? ' [from the earlier session]' : ''} — ${termSafe(what).slice(0, 80)}`
}
