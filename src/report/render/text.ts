import { visibleText } from '../../core/sanitize.js'
import type { AnchorSet, CertSummary, UnreadableRow } from '../model/types.js'

/**
 * One line of plain text: every control, bidi or zero-width character written out (`\x1b`,
 * `<U+202E>`), the shared rule of src/core/sanitize.ts, so a name reads as its bytes are.
 */
export function oneLine(text: string): string {
  return visibleText(text)
}

const MD_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '|': '&#124;',
  '`': '&#96;',
  '[': '&#91;',
  ']': '&#93;',
  '*': '&#42;',
  _: '&#95;',
  '\\': '&#92;',
  '~': '&#126;',
  '#': '&#35;',
  '!': '&#33;',
  $: '&#36;',
}

/**
 * Untrusted text as inert Markdown for one table cell or list item, readable raw as well (a diff
 * of a nightly matrix.md shows `www.ebay.com`, not `www&#46;ebay.com`):
 * - controls, bidi and zero-width characters are written out (`\x1b`, `<U+202E>`, see oneLine);
 * - a word GitHub would link by itself (`a@b.c`, which `MODULE@FIRMWARE` is, `://`, `www.`) becomes
 *   a code span, where nothing links or formats and HTML is inert; so does a word with an underscore
 *   (a cipher suite, `TLS_ECDHE_RSA_…`), which entities would make unreadable raw;
 * - elsewhere every character Markdown gives a meaning to becomes an entity (so no HTML, no link,
 *   no emphasis, no code span, and a `|` never splits a table cell); entities rather than
 *   backslashes, because a backslash before `|` is read differently inside tables;
 * - at the start, what would open a block (leading spaces, `-`, `+`, `=`, `1.`) is an entity too.
 */
export function md(text: string): string {
  const words = oneLine(text).split(/( +)/)
  const body = words.map((w, i) => (i % 2 === 1 ? w : mdWord(w))).join('')
  return body
    .replace(/^ +/, (sp) => '&#32;'.repeat(sp.length))
    .replace(/^[-+=]/, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/^(\d+)([.)])/, (_, n: string, c: string) => `${n}&#${c.charCodeAt(0)};`)
}

/** What GitHub's autolinks start from: an address's `@`, a scheme's `://`, a leading `www.`. */
const AUTOLINKED = /@|:\/\/|(?:^|[^A-Za-z0-9])www\./i

/**
 * An underscore is written `&#95;` outside a code span, which reads badly raw
 * (`TLS&#95;ECDHE&#95;RSA…`): a word with one is a code span too, where it formats nothing.
 */
const UNDERSCORED = /_/

/** One word: a code span when GitHub would link it or it holds an underscore (its surrounding punctuation kept outside), else entities. */
function mdWord(word: string): string {
  const [, lead = '', core = '', trail = ''] = /^([("'\u201c\u2018]*)(.*?)([)"'\u201d\u2019,;:.!?]*)$/s.exec(word) ?? []
  if (!core) return mdEntities(word)
  if (!AUTOLINKED.test(core)) {
    if (!UNDERSCORED.test(core) || core.includes('|')) return mdEntities(word)
    return `${mdEntities(lead)}${codeSpan(core)}${mdEntities(trail)}`
  }
  // A `|` inside a code span would still split a table cell: such a word is broken up with entities.
  if (core.includes('|'))
    return mdEntities(word)
      .replace(/:\/\//g, '&#58;//')
      .replace(/@/g, '&#64;')
      .replace(/\b(www)\./gi, '$1&#46;')
  return `${mdEntities(lead)}${codeSpan(core)}${mdEntities(trail)}`
}

function mdEntities(text: string): string {
  return text.replace(/[&<>|`[\]*_\\~#!$]/g, (c) => MD_ENTITIES[c]!)
}

/** A code span that holds `text` as it is: fenced by one more backtick than its longest run. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** A certificate's readable name, or its hash's start when the model does not know it. */
export function certName(certificates: Record<string, CertSummary>, sha256: string): string {
  return certificates[sha256]?.name ?? `sha256:${sha256.slice(0, 16)}`
}

/**
 * Characters XML 1.0 cannot carry (most C0 controls, lone surrogates, U+FFFE/U+FFFF) and those
 * that act on the reader (DEL, C1, bidi and zero-width characters) are written out by the shared
 * rule (`\x1b`, `<U+202E>`); tab, LF and CR stay for the escaping below.
 */
export function xmlChars(text: string): string {
  return visibleText(text, { keep: '\t\n\r' })
}

/**
 * Text content, escaped by hand: xmlbuilder2's serializer leaves an `&` that already looks like
 * an entity (`&nbsp;`, `&amp;`) alone, which would change the text or, for an entity XML does not
 * define, make the document unreadable. CR is kept as a reference (a parser turns a raw one into LF).
 */
export function xmlText(text: string): string {
  return xmlChars(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;')
}

/** An attribute value between double quotes; tab, CR and LF are kept as character references (a parser would turn them into spaces). */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;')
}

/** What the store holds at once, in words. */
export function storeWords(s: AnchorSet): string | null {
  if (!s.store) return null
  const slots = s.store.caSlots === 1 ? 'one slot' : `${s.store.caSlots} slots`
  return s.store.caBundle
    ? `the store takes a PEM bundle of CAs in ${slots} of ${s.store.maxCaBytes} bytes`
    : `the store holds ${s.store.caSlots === 1 ? 'one CA' : `${s.store.caSlots} CAs`} at a time (${slots} of ${s.store.maxCaBytes} bytes, no bundle)`
}

const SINGULAR: Record<string, string> = {
  runs: 'run',
  attempts: 'attempt',
  observations: 'observation',
  certificates: 'certificate',
}

/** A row the report could not read, in one sentence: which row, which column, why, and what was done. */
export function unreadableText(r: UnreadableRow): string {
  const what = Object.hasOwn(SINGULAR, r.table) ? SINGULAR[r.table] : r.table
  return `${what} ${r.id}: column ${r.column} ${r.problem}; ${r.effect}`
}
