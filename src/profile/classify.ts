import { FAILURE_CLASSES, type FailureClass, type FirmwareProfile } from './profile.js'

export { MAX_TEMPLATE_CHARS, templateProblem } from './template.js'

/** A compiled profile template: `{n}` stands for a number, `{text}` for printable ASCII text. */
export interface LineMatcher {
  /**
   * True when the whole line is one the template describes. Linear: at most (line length + 1) ×
   * template length steps, whatever the template (`work.steps` counts them, for tests).
   */
  test(line: string, work?: { steps: number }): boolean
}

// Tokens of a template: a character code (>= 0) is that literal character.
const TEXT = -1 // {text}: any number of printable ASCII characters
const DIGIT = -2 // the first digit of {n}
const DIGITS = -3 // the other digits of {n}, any number

/**
 * `{n}` in a profile line stands for a number, `{text}` for printable ASCII text; everything
 * else is literal. A corrupted byte (outside printable ASCII) never matches a placeholder.
 *
 * Templates come from profiles, which travel between people: they are compiled to a matcher
 * that never backtracks (the regular expression they once became took exponential time on
 * `{text}{text}…` or `{text}:{text}:…` against a line it does not match). The literal text before
 * the first placeholder and after the last is compared directly; between them the line is read
 * once, left to right, keeping the set of template positions it can be at (an NFA simulation).
 * Adjacent `{text}` placeholders are one.
 */
export function linePattern(template: string): LineMatcher {
  let m = compiled.get(template)
  if (!m) {
    if (compiled.size >= 4096) compiled.clear()
    m = compile(template)
    compiled.set(template, m)
  }
  return m
}

const compiled = new Map<string, LineMatcher>()

function tokensOf(template: string): number[] {
  const out: number[] = []
  for (const part of template.split(/(\{n\}|\{text\})/)) {
    if (part === '{text}') {
      if (out[out.length - 1] !== TEXT) out.push(TEXT)
    } else if (part === '{n}') out.push(DIGIT, DIGITS)
    else for (let i = 0; i < part.length; i++) out.push(part.charCodeAt(i))
  }
  return out
}

function compile(template: string): LineMatcher {
  const tokens = tokensOf(template)
  const first = tokens.findIndex((t) => t < 0)
  if (first < 0)
    return {
      test: (line, work) => {
        if (work) work.steps++
        return line === template
      },
    }
  let last = tokens.length - 1
  while (tokens[last]! >= 0) last--
  const prefix = String.fromCharCode(...tokens.slice(0, first))
  const suffix = String.fromCharCode(...tokens.slice(last + 1))
  const middle = tokens.slice(first, last + 1)
  // The fewest characters the middle can take: one per literal and per {n}.
  const least = middle.filter((t) => t !== TEXT && t !== DIGITS).length
  return {
    test(line, work) {
      if (work) work.steps++
      if (line.length < prefix.length + least + suffix.length) return false
      if (!line.startsWith(prefix) || !line.endsWith(suffix)) return false
      return simulate(middle, line, prefix.length, line.length - suffix.length, work)
    },
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isPrintable = (c: number) => c >= 0x20 && c <= 0x7e

/** Whether line[from, to) is what `tokens` describe: one pass, the set of positions as flags. */
function simulate(
  tokens: readonly number[],
  line: string,
  from: number,
  to: number,
  work?: { steps: number },
): boolean {
  const m = tokens.length
  let at = new Uint8Array(m + 1)
  let next = new Uint8Array(m + 1)
  // A placeholder that may take no more characters lets the position after it be reached too.
  const close = (s: Uint8Array) => {
    for (let i = 0; i < m; i++) if (s[i] && (tokens[i] === TEXT || tokens[i] === DIGITS)) s[i + 1] = 1
  }
  at[0] = 1
  close(at)
  for (let p = from; p < to; p++) {
    const c = line.charCodeAt(p)
    next.fill(0)
    let alive = false
    for (let i = 0; i < m; i++) {
      if (!at[i]) continue
      const t = tokens[i]!
      // A placeholder that takes this character stays where it is; anything else moves on.
      const stay = t === TEXT || t === DIGITS
      const takes = t === TEXT ? isPrintable(c) : t === DIGITS || t === DIGIT ? isDigit(c) : t === c
      if (!takes) continue
      next[stay ? i : i + 1] = 1
      alive = true
    }
    if (work) work.steps += m
    if (!alive) return false
    close(next)
    ;[at, next] = [next, at]
  }
  return at[m] === 1
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
