import escapeHtml from 'escape-html'
import type { Verdict } from '../model/types.js'

/**
 * Text for HTML: every string from a certificate, a server or a module goes through here, for
 * element text and double-quoted attribute values alike (escape-html covers both).
 */
export function h(value: string | number | boolean | null | undefined): string {
  return escapeHtml(value === null || value === undefined ? '' : String(value))
}

const CONTROL: Record<number, string> = { 0: '\\0', 9: '\\t', 10: '\\n', 13: '\\r' }

/**
 * Bytes as a person can audit them: a module line or a transcript chunk may carry CR, LF, NUL or
 * terminal escapes, which a page would otherwise swallow or show as blanks. Each control
 * character is written escaped, `\r` `\n` `\0` `\t` `\x1b`…, in a marked span (so it reads apart
 * from a literal backslash, in any font: Unicode control pictures such as ␍ are missing from many
 * system fonts); a real line break follows each `\n` so an exchange still reads line by line.
 * Returns HTML: the text around the controls is escaped.
 */
export function visible(text: string): string {
  let out = ''
  let last = 0
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const re = /[\x00-\x09\x0b-\x1f\x7f-\x9f]*\n|[\x00-\x09\x0b-\x1f\x7f-\x9f]+/g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let shown = ''
    for (const c of m[0]) {
      const code = c.charCodeAt(0)
      shown += CONTROL[code] ?? `\\x${code.toString(16).padStart(2, '0')}`
    }
    out += `${h(text.slice(last, m.index))}<span class="ctl">${shown}</span>${m[0].endsWith('\n') ? '\n' : ''}`
    last = m.index + m[0].length
  }
  return out + h(text.slice(last))
}

/** Colour is never the only signal: each state has a symbol and a word. */
export const MARK = {
  pass: '\u2713',
  fail: '\u2717',
  'not-run': '\u2013',
  unsafe: '\u26a0',
  none: '\u00b7',
} as const

export function verdictWord(v: Verdict): string {
  return v === 'not-run' ? 'not run' : v
}

/** A sha256 cut for a table cell; the full value stays in the certificates section. */
export function shortHash(sha: string | null): string {
  return sha ? `${sha.slice(0, 16)}\u2026` : ''
}
