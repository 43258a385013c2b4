import escapeHtml from 'escape-html'
import type { Verdict } from '../model/types.js'

/**
 * Text for HTML: every string from a certificate, a server or a module goes through here, for
 * element text and double-quoted attribute values alike (escape-html covers both).
 */
export function h(value: string | number | boolean | null | undefined): string {
  return escapeHtml(value === null || value === undefined ? '' : String(value))
}

/**
 * Bytes as a person can audit them: a module line or a transcript chunk may carry CR, LF, NUL or
 * terminal escapes, which a page would otherwise swallow or show as blanks. C0 controls become
 * their Unicode control pictures (CR LF reads ␍␊, and a real line break follows the ␊ so the
 * exchange still reads line by line), DEL is ␡, C1 controls are written \x80…\x9f. Then escaped.
 */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const shown = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const code = c.charCodeAt(0)
    if (code === 0x0a) return '\u240a\n'
    if (code < 0x20) return String.fromCharCode(0x2400 + code)
    if (code === 0x7f) return '\u2421'
    return `\\x${code.toString(16)}`
  })
  return h(shown)
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
