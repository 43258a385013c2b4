import type { CertSummary, UnreadableRow } from '../model/types.js'

/**
 * Characters no report shows as they are: C0/C1 controls and DEL (they rewrite terminals and break
 * lines), line and paragraph separators, and the bidirectional overrides that make a name read
 * differently from its bytes.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** One line of plain text: every control or layout character becomes a space. */
export function oneLine(text: string): string {
  return text.replace(INVISIBLE, ' ')
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
 * Untrusted text as inert Markdown for one table cell or list item: every character GitHub's
 * Markdown gives a meaning to becomes an entity (so no HTML, no link, no emphasis, no code span,
 * and a `|` never splits a table cell), controls become spaces, and what GitHub would link by
 * itself (`://`, `www.`, `a@b.c`, which `MODULE@FIRMWARE` is) is broken up so a certificate's
 * subject never becomes a clickable link. Entities are used rather than
 * backslashes because a backslash before `|` is read differently inside tables.
 */
export function md(text: string): string {
  return (
    oneLine(text)
      .replace(/[&<>|`[\]*_\\~#!$]/g, (c) => MD_ENTITIES[c]!)
      .replace(/:\/\//g, '&#58;//')
      .replace(/@/g, '&#64;')
      .replace(/\b(www)\./gi, '$1&#46;')
      // At the start of a list item, leading spaces (a code block), `-`, `+`, `=` or `1.` (a list,
      // a rule) would start a block of their own.
      .replace(/^ +/, (sp) => '&#32;'.repeat(sp.length))
      .replace(/^[-+=]/, (c) => `&#${c.charCodeAt(0)};`)
      .replace(/^(\d+)([.)])/, (_, n: string, c: string) => `${n}&#${c.charCodeAt(0)};`)
  )
}

/** A certificate's readable name, or its hash's start when the model does not know it. */
export function certName(certificates: Record<string, CertSummary>, sha256: string): string {
  return certificates[sha256]?.name ?? `sha256:${sha256.slice(0, 16)}`
}

/**
 * Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF) are
 * dropped; DEL and C1 controls, legal but invisible, become spaces.
 */
const XML_INVALID =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
const XML_INVISIBLE = /[\x7f-\x9f]/g

export function xmlChars(text: string): string {
  return text.replace(XML_INVALID, '').replace(XML_INVISIBLE, ' ')
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
