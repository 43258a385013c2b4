/**
 * Characters that act on the reader instead of showing: C0/C1 controls and DEL (an ANSI escape
 * retitles or clears a terminal, a CR rewrites a line), line and paragraph separators, the format
 * characters (Unicode Cf: the bidi marks, embeddings, overrides and isolates U+061C, U+200E/F,
 * U+202A–202E, U+2066–2069, the zero-width U+200B–200D and U+2060–2064, the byte-order mark
 * U+FEFF, tag characters…), the other default-ignorable characters (variation selectors, Hangul
 * fillers) that draw nothing, lone surrogates and the non-characters U+FFFE/U+FFFF. A subject
 * `O=<U+202E>LIAM` displays as "MAIL…" when such a character is left raw.
 */
const INVISIBLE_SOURCE = '[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\p{Default_Ignorable_Code_Point}\\uFFFE\\uFFFF]'
const INVISIBLE = new RegExp(INVISIBLE_SOURCE, 'gu')
const INVISIBLE_ONE = new RegExp(INVISIBLE_SOURCE, 'u')

/** Whether `text` holds a character `visibleText` would escape. */
export function hasInvisible(text: string): boolean {
  return INVISIBLE_ONE.test(text)
}

const NAMED: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/**
 * How one invisible character is written: `\x1b` for a C0/C1 control or DEL (with `names`,
 * `\r` `\n` `\t` `\0` for the four everyone reads), `<U+202E>` for anything above.
 */
export function escapeInvisible(c: string, names = false): string {
  const code = c.codePointAt(0)!
  if (names && NAMED[c]) return NAMED[c]
  if (code < 0xa0) return `\\x${code.toString(16).padStart(2, '0')}`
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`
}

export interface VisibleOptions {
  /** Characters left as they are (a multi-line body keeps its own `\n`). */
  keep?: string
  /** `\r` `\n` `\t` `\0` by name rather than `\x0d`… */
  names?: boolean
}

/**
 * Untrusted text (certificate fields, server data, module lines) made safe to show anywhere: every
 * invisible character above is written out, so the reader sees what the bytes are and nothing
 * acts on the terminal or reorders the line. The one definition every output uses: the terminal
 * (termSafe), HTML (h, visible), Markdown (md), CSV, JUnit; report.json keeps the characters as
 * JSON escapes instead (jsonSafe), so a script still reads the value itself.
 */
export function visibleText(text: string, opts: VisibleOptions = {}): string {
  return text.replace(INVISIBLE, (c) => (opts.keep?.includes(c) ? c : escapeInvisible(c, opts.names)))
}

/** A regular expression matching every invisible character (global, Unicode), for callers that mark them up. */
export function invisiblePattern(): RegExp {
  return new RegExp(INVISIBLE_SOURCE, 'gu')
}

/**
 * Everything printed to a terminal goes through this: certificate fields and server data are
 * attacker-controlled, a subject can carry ANSI escapes or a bidi override.
 */
export function termSafe(text: string): string {
  return visibleText(text)
}

/**
 * JSON text (from JSON.stringify) with the invisible characters JSON.stringify leaves raw (DEL,
 * C1, the format and bidi characters, separators) written as `\uXXXX` escapes: the parsed value is
 * unchanged (pretty-printed JSON keeps its own line breaks), and `cat report.json` shows nothing that acts on the terminal. C0 controls and lone
 * surrogates are escaped by JSON.stringify already; an invisible character can only occur inside
 * a string there, so escaping it keeps the document valid.
 */
export function jsonSafe(json: string): string {
  return json.replace(INVISIBLE, (c) => {
    // Below U+0020 only the document's own whitespace remains (JSON.stringify escaped the rest).
    if (c < ' ') return c
    let out = ''
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return out
  })
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
