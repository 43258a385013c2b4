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
}

export function makeContext(model: ReportModel, evidence: EvidenceSource, allTranscripts: boolean): HtmlContext {
  const cellAt = new Map<string, number>()
  model.cells.forEach((c, i) => cellAt.set(cellKey(c.target, c.key), i))
  const certAt = new Map<string, number>()
  Object.keys(model.certificates).forEach((sha, i) => certAt.set(sha, i))
  return { model, evidence, cellAt, certAt, allTranscripts }
}

export function cellKey(target: string, key: string): string {
  return `${target}\u0000${key}`
}

/** A cell worth its transcript even in a large report. */
export function isNotable(c: Cell): boolean {
  return c.verdict !== 'pass' || c.unsafe || c.disagree || c.mismatch
}

/** A certificate's readable name, linked to its entry (ids are indexes: no untrusted text in them). */
export function certLink(ctx: HtmlContext, sha: string): string {
  const cert = ctx.model.certificates[sha]
  const i = ctx.certAt.get(sha)
  const name = cert ? cert.name : `unknown certificate ${sha.slice(0, 16)}`
  return i === undefined ? h(name) : `<a href="#k${i}">${h(name)}</a>`
}

export function cellLink(ctx: HtmlContext, c: Cell, text: string): string {
  const i = ctx.cellAt.get(cellKey(c.target, c.key))
  return i === undefined ? text : `<a href="#c${i}">${text}</a>`
}
