import { FAILURE_CLASSES, type FailureClass, type FirmwareProfile } from './profile.js'

/**
 * `{n}` in a profile line stands for a number, `{text}` for printable ASCII text; everything
 * else is literal. A corrupted byte (outside printable ASCII) never matches a placeholder.
 */
export function linePattern(template: string): RegExp {
  const parts = template
    .split(/(\{n\}|\{text\})/)
    .map((s) =>
      s === '{n}' ? '(\\d+)' : s === '{text}' ? '([\\x20-\\x7e]*)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
  return new RegExp(`^${parts.join('')}$`)
}

/** Fills `{n}` placeholders in order (the emulator printing a class's lines). */
export function fillLine(template: string, ...numbers: number[]): string {
  let i = 0
  return template.replace(/\{n\}/g, () => String(numbers[i++] ?? numbers[numbers.length - 1] ?? 0))
}

/**
 * The lines a module prints for a failure class (the emulators print them). A profile without
 * `clock` lines is a module that cannot tell a clock never set from an expired certificate: it
 * prints its `expired` lines (README "Failure classes").
 */
export function classLines(profile: FirmwareProfile, cls: FailureClass): readonly string[] | undefined {
  return profile.errors[cls] ?? (cls === 'clock' ? profile.errors.expired : undefined)
}

/** What a request's response says, judged only when it is complete and well-formed. */
export type Classification =
  | { kind: 'class'; class: FailureClass }
  /** Complete and well-formed, but no error-table entry is exactly these lines (e.g. not ready). */
  | { kind: 'unmatched' }
  /** A line outside the dialect's grammar, or no final line: a link fault, never a verdict. */
  | { kind: 'damaged'; why: string }

const matchesAny = (line: string, templates: readonly string[]) => templates.some((t) => linePattern(t).test(line))

/**
 * Checks a response against the profile's grammar: it must end with a final line and every line
 * must be one the firmware prints during a request (informational lines, error-table lines,
 * final lines). Null when it is well-formed, else why not.
 */
export function damage(lines: readonly string[], profile: FirmwareProfile): string | null {
  const g = profile.responses
  const last = lines[lines.length - 1]
  if (last === undefined || !matchesAny(last, g.final))
    return `no final line${last === undefined ? '' : ` (last: ${JSON.stringify(last.slice(0, 80))})`}`
  return outsideGrammar(lines, profile)
}

/**
 * The first line the firmware never prints during a request (informational, error-table and final
 * lines are), as why; null when there is none. For the part of a response known to be the
 * module's (SPWF04SA: the lines before an in-band body), which has no final line of its own.
 */
export function outsideGrammar(lines: readonly string[], profile: FirmwareProfile): string | null {
  const g = profile.responses
  const known = [...g.info, ...g.final, ...Object.values(profile.errors).flat()]
  const bad = lines.find((l) => !matchesAny(l, known))
  return bad === undefined ? null : `a line outside the ${profile.id} grammar: ${JSON.stringify(bad.slice(0, 80))}`
}

/**
 * The failure class of a complete response (its informational lines aside, the lines must be
 * exactly one error-table entry, optionally followed by the final line), so a damaged or partial
 * longer entry can never pass for a shorter one.
 */
export function classifyResponse(lines: readonly string[], profile: FirmwareProfile): Classification {
  const why = damage(lines, profile)
  if (why) return { kind: 'damaged', why }
  const entries = Object.values(profile.errors).flat()
  const errorLines = lines.filter((l) => matchesAny(l, entries) || !matchesAny(l, profile.responses.info))
  for (const cls of FAILURE_CLASSES) {
    const entry = profile.errors[cls]
    if (!entry) continue
    const same = (got: readonly string[]) =>
      got.length === entry.length && got.every((l, i) => linePattern(entry[i]!).test(l))
    if (same(errorLines) || same(errorLines.slice(0, -1))) return { kind: 'class', class: cls }
  }
  return { kind: 'unmatched' }
}

/** The class of a module's lines, or null (kept for replaying transcripts; see classifyResponse). */
export function classifyLines(lines: readonly string[], profile: FirmwareProfile): FailureClass | null {
  const c = classifyResponse(lines, profile)
  return c.kind === 'class' ? c.class : null
}
