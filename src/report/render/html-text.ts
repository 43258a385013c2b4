import escapeHtml from 'escape-html'
import { escapeInvisible, invisiblePattern, visibleText } from '../../core/sanitize.js'
import type { Verdict } from '../model/types.js'

/**
 * Text for HTML: every string from a certificate, a server or a module goes through here, for
 * element text and double-quoted attribute values alike (escape-html covers both). Controls, bidi
 * and zero-width characters are written out first (`\x1b`, `<U+202E>`): a browser would obey an
 * override and show `O=<U+202E>LIAM` as "MAIL".
 */
export function h(value: string | number | boolean | null | undefined): string {
  return escapeHtml(visibleText(value === null || value === undefined ? '' : String(value)))
}

/**
 * Bytes as a person can audit them: a module line or a transcript chunk may carry CR, LF, NUL or
 * terminal escapes, which a page would otherwise swallow or show as blanks, or a bidi override
 * that would reorder the line. Each such character is written escaped, `\r` `\n` `\0` `\t`
 * `\x1b` `<U+202E>`…, in a marked span (so it reads apart
 * from a literal backslash, in any font: Unicode control pictures such as ␍ are missing from many
 * system fonts); a real line break follows each `\n` so an exchange still reads line by line.
 * Returns HTML: the text around the controls is escaped.
 */
export function visible(text: string): string {
  let out = ''
  let last = 0
  // Runs of invisible characters (the shared rule of src/core/sanitize.ts), each written out.
  const re = invisiblePattern()
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let run = m[0]
    let end = m.index + run.length
    // A run ends after a line feed, so each line of an exchange still starts a line of its own.
    while (!run.endsWith('\n')) {
      const next = re.exec(text)
      if (!next || next.index !== end) break
      run += next[0]
      end += next[0].length
    }
    re.lastIndex = end
    let shown = ''
    for (const c of run) shown += escapeInvisible(c, true)
    out += `${h(text.slice(last, m.index))}<span class="ctl">${escapeHtml(shown)}</span>${run.endsWith('\n') ? '\n' : ''}`
    last = end
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
