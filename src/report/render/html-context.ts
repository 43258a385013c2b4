import type { Cell, EvidenceSource, ReportModel } from '../model/types.js'
import { h } from './html-text.js'

/** What every section needs: the model, its lookups, and how much evidence the page carries. */
export interface HtmlContext {
  model: ReportModel
  evidence: EvidenceSource
  /** Cell index by target and column key; a cell's anchor id on the page is `c<index>`. */
  cellAt: Map<string, number>
  /** Certificate index by sha256; its entry in the certificates section is `k<index>`. */
  certAt: Map<string, number>
  /** False for a large report: transcripts only for cells worth reading (see html.ts). */
  allTranscripts: boolean
  /** Cells (by index) with an evidence block on the page; all of them in a report of ordinary size. */
  withEvidence: Set<number> | null
  /** How many rows a finding list shows before it points to report.json (null: all). */
  listMax: number | null
}

export function makeContext(model: ReportModel, evidence: EvidenceSource, allTranscripts: boolean): HtmlContext {
  const cellAt = new Map<string, number>()
  model.cells.forEach((c, i) => cellAt.set(cellKey(c.target, c.key), i))
  const certAt = new Map<string, number>()
  Object.keys(model.certificates).forEach((sha, i) => certAt.set(sha, i))
  // A large report keeps the evidence of the cells worth reading, the first LARGE_LIST_MAX of them.
  let withEvidence: Set<number> | null = null
  if (!allTranscripts) {
    withEvidence = new Set()
    for (const [i, c] of model.cells.entries()) {
      if (withEvidence.size >= LARGE_LIST_MAX) break
      if (isNotable(c)) withEvidence.add(i)
    }
  }
  return {
    model,
    evidence,
    cellAt,
    certAt,
    allTranscripts,
    withEvidence,
    listMax: allTranscripts ? null : LARGE_LIST_MAX,
  }
}

/** Rows per finding list, and evidence blocks, in a large report (see html.ts). */
export const LARGE_LIST_MAX = 1000

/** The first rows of a finding list, and a line saying how many more are in report.json. */
export function capped<T>(ctx: HtmlContext, items: readonly T[]): { shown: readonly T[]; more: string } {
  if (ctx.listMax === null || items.length <= ctx.listMax) return { shown: items, more: '' }
  return {
    shown: items.slice(0, ctx.listMax),
    more: `<p class="note">The first ${ctx.listMax} of ${items.length} are listed; every one is marked in the matrix and listed in <code>report.json</code>.</p>`,
  }
}

export function cellKey(target: string, key: string): string {
  return `${target}\u0000${key}`
}

/** A cell worth its transcript even in a large report. */
export function isNotable(c: Cell): boolean {
  return c.verdict !== 'pass' || c.unsafe || c.disagree || c.mismatch
}

/**
 * A certificate's readable name (or, with `full`, its whole subject), linked to its entry (ids are
 * indexes: no untrusted text in them).
 */
export function certLink(ctx: HtmlContext, sha: string, full = false): string {
  const cert = ctx.model.certificates[sha]
  const i = ctx.certAt.get(sha)
  const name = cert ? (full ? cert.subject : cert.name) : `unknown certificate ${sha.slice(0, 16)}`
  return i === undefined ? h(name) : `<a href="#k${i}">${h(name)}</a>`
}

export function cellLink(ctx: HtmlContext, c: Cell, text: string): string {
  const i = ctx.cellAt.get(cellKey(c.target, c.key))
  return i === undefined || (ctx.withEvidence && !ctx.withEvidence.has(i)) ? text : `<a href="#c${i}">${text}</a>`
}
