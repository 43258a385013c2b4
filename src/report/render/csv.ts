import type { Writable } from 'node:stream'
import { stringify } from 'csv-stringify/sync'
import { displayName } from '../../chain/display-name.js'
import { visibleText } from '../../core/sanitize.js'
import type { AttemptRow } from '../../store/index.js'
import type { ReportModel } from '../model/types.js'
import { put } from './sink.js'

/** One attempt as `attempts.csv` shows it: an attempt as the history store reads it. */
export type CsvAttempt = AttemptRow

/** The columns, in order (README "attempts.csv"). Add at the end, never rename. */
export const CSV_COLUMNS = [
  'run_id',
  'attempt_id',
  'device',
  'module',
  'firmware',
  'target',
  'host',
  'port',
  'path',
  'anchor_sha256',
  'anchor_name',
  'anchor_subject',
  'anchor_source',
  'try',
  'final',
  'outcome',
  'class',
  'reason',
  'reason_detail',
  'lines',
  'http_status',
  'duration_ms',
  'expect',
  'recorded_at',
  'device_url',
  'device_kind',
] as const

/**
 * Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, tab or CR (and their full-width
 * forms) as a formula: csv-stringify prefixes such a text cell with `'`. Numbers stay numbers.
 */
const OPTIONS = { escape_formulas: true, record_delimiter: 'unix', quoted_match: /^\s|\s$/ } as const

/** Rows stringified per chunk: one call per row would re-read the options 200,000 times. */
const CHUNK = 256

/** Run and device label → the device's URL and kind (emu, serial, tcp), from the model's runs. */
type Devices = Map<string, { url: string | null; kind: string | null }>

function devicesOf(model: ReportModel | null): Devices {
  const out: Devices = new Map()
  for (const r of model?.runs ?? []) for (const d of r.devices ?? []) out.set(`${r.id}\u0000${d.label}`, d)
  return out
}

function record(model: ReportModel | null, a: CsvAttempt, devices: Devices): Array<string | number> {
  // The store writes `-` (NO_ANCHOR) for "no CA uploaded": the cell is empty, as a spreadsheet
  // filter expects, not the `'-` a formula guard would make of it.
  const anchored = a.anchor !== '-' && a.anchor !== ''
  const name = anchored
    ? (model?.certificates[a.anchor]?.name ?? (a.anchorSubject ? displayName(a.anchorSubject) : ''))
    : ''
  const row: Array<string | number> = [
    a.runId,
    a.id,
    a.device,
    a.module ?? '',
    a.firmware ?? '',
    a.target,
    a.host,
    a.port,
    a.path,
    anchored ? a.anchor : '',
    name,
    anchored ? a.anchorSubject : '',
    anchored ? a.anchorSource : '',
    a.try,
    a.final ? 'true' : 'false',
    a.outcome,
    a.class ?? '',
    a.reason?.reason ?? '',
    a.reason?.detail ?? '',
    a.lines.map((l) => visibleText(l)).join(' | '),
    a.httpStatus ?? '',
    a.durationMs,
    a.expect ?? '',
    a.recordedAt,
    // Emulated (`emu`: the verdict follows the profile) or a module on a `serial`/`tcp` line; empty when unknown.
    devices.get(`${a.runId}\u0000${a.device}`)?.url ?? '',
    devices.get(`${a.runId}\u0000${a.device}`)?.kind ?? '',
  ]
  // Certificate, server and module text is untrusted: ESC, BEL, bidi and zero-width characters are
  // written out (`\x1b`, `<U+202E>`), so `cat attempts.csv` or a spreadsheet shows what the bytes are.
  return row.map((v) => (typeof v === 'string' ? visibleText(v) : v))
}

/**
 * Streams `attempts.csv`: the header, then one row per attempt as the iterable yields them (the
 * store's 200,000 rows never sit in memory at once), waiting whenever `out` is full. `out` is
 * left open for the caller to end. Resolves to the number of rows written.
 */
export async function writeAttemptsCsv(
  model: ReportModel | null,
  attempts: Iterable<CsvAttempt> | AsyncIterable<CsvAttempt>,
  out: Writable,
): Promise<number> {
  await put(out, stringify([[...CSV_COLUMNS]], OPTIONS))
  const devices = devicesOf(model)
  let batch: Array<Array<string | number>> = []
  let n = 0
  for await (const a of attempts) {
    batch.push(record(model, a, devices))
    n++
    if (batch.length >= CHUNK) {
      await put(out, stringify(batch, OPTIONS))
      batch = []
    }
  }
  if (batch.length) await put(out, stringify(batch, OPTIONS))
  return n
}
