import type { FailureClass } from '../profile/index.js'

export type ErrorClass = Exclude<FailureClass, 'device'>

/**
 * The profile's entry for a class from what its probes printed: the lines most probes agree on
 * (a line damaged into other printable text on one probe is outvoted), verbatim except for the
 * `http` class, whose numbers are the status and the HTTP version (`{n}`) and whose text after
 * the status is the server's reason phrase (`{text}`).
 */
export function errorEntry(
  cls: ErrorClass,
  seen: ReadonlyArray<{ lines: string[]; attempt: number }>,
): { lines: string[]; attempts: number[]; others: string[][] } | null {
  if (seen.length === 0) return null
  const norm = (lines: string[]) => (cls === 'http' ? lines.map(httpTemplate) : lines)
  const votes = new Map<string, { lines: string[]; attempts: number[] }>()
  for (const s of seen) {
    const lines = norm(s.lines)
    const k = JSON.stringify(lines)
    const v = votes.get(k) ?? { lines, attempts: [] }
    v.attempts.push(s.attempt)
    votes.set(k, v)
  }
  const ranked = [...votes.values()].sort((a, b) => b.attempts.length - a.attempts.length)
  const best = ranked[0]!
  return { lines: best.lines, attempts: best.attempts, others: ranked.slice(1).map((r) => r.lines) }
}

/** `HTTP/1.1 404 Not Found` → `HTTP/{n}.{n} {n} {text}`; `AT-S.Http Server Error:404` → `…:{n}`. */
export function httpTemplate(line: string): string {
  return line.replace(/^(.*?\b[1-5]\d\d) [\x20-\x7e]+$/, '$1 {text}').replace(/\d+/g, '{n}')
}
