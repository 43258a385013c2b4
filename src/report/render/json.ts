import type { Writable } from 'node:stream'
import { jsonSafe } from '../../core/sanitize.js'
import type { Cell, EvidenceSource, ReportModel } from '../model/types.js'
import { put } from './sink.js'

/**
 * Streams `report.json` (README "report.json"): the model's fields, with each cell's evidence
 * inline, its AT transcript included. 100,000 cells with transcripts do not fit in one string, so
 * the document is written piece by piece, one `JSON.stringify` per cell (one line each, which also
 * keeps the file greppable), waiting whenever `out` is full; untrusted text keeps its characters,
 * those that would act on a terminal or reorder a line written as `\uXXXX` escapes (jsonSafe); a transcript is read only when its
 * cell is written. `out` is left open for the caller to end.
 */
export async function writeReportJson(model: ReportModel, evidence: EvidenceSource, out: Writable): Promise<void> {
  const field = (name: string, value: unknown, last = false) =>
    put(out, `${JSON.stringify(name)}: ${jsonSafe(JSON.stringify(value ?? null))}${last ? '\n' : ',\n'}`)
  await put(out, '{\n')
  await field('generatedAt', model.generatedAt)
  await field('title', model.title)
  await field('expiryDays', model.expiryDays)
  await field('runs', model.runs)
  await field('firmware', model.firmware)
  await field('targets', model.targets)
  await put(out, '"cells": [')
  let first = true
  for (const cell of model.cells) {
    await put(out, `${first ? '\n' : ',\n'}${jsonSafe(JSON.stringify(cellJson(cell, evidence)))}`)
    first = false
  }
  await put(out, first ? '],\n' : '\n],\n')
  await field('anchorSets', model.anchorSets)
  await field('diff', model.diff)
  await field('chainChanges', model.chainChanges)
  await field('expiring', model.expiring)
  await field('statements', model.statements)
  await field('disagreements', model.disagreements)
  await field('rigDifferences', model.rigDifferences)
  await field('guessNotes', model.guessNotes ?? [])
  // Rows of the database the report could not read (a report built from a database always says, if only []).
  if (model.unreadable) await field('unreadable', model.unreadable)
  await field('certificates', model.certificates, true)
  await put(out, '}\n')
}

/** A cell as report.json carries it: the model's fields, the evidence with its transcript. */
function cellJson(
  cell: Cell,
  evidence: EvidenceSource,
): Cell & { evidence: Cell['evidence'] & { transcript: unknown } } {
  return { ...cell, evidence: { ...cell.evidence, transcript: evidence.transcript(cell.evidence.attemptId) } }
}
