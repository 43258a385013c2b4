import type { ReportFormat } from '../store/report-words.js'

/** The report's formats and gates: words the CLI accepts, kept apart so --help loads no renderer. */
export { FAIL_ON, REPORT_FORMATS } from '../store/report-words.js'
export type { FailOn, ReportFormat } from '../store/report-words.js'

/**
 * Written when no format is asked for: the QA report. `pem` (the CA bundles to provision), `docs`
 * (a page to publish) and `summary` (lines for a pull request or chat) are asked for by name.
 */
export const DEFAULT_REPORT_FORMATS: readonly ReportFormat[] = ['html', 'md', 'csv', 'json', 'junit']

/**
 * Fixed names, so a docs pipeline or CI step can pick them up without parsing output. `pem` writes
 * one file per firmware with a recommended CA set, `ca-<MODULE>-<FIRMWARE>.pem`.
 */
export const REPORT_FILES: Readonly<Record<ReportFormat, string>> = {
  html: 'index.html',
  md: 'matrix.md',
  csv: 'attempts.csv',
  json: 'report.json',
  junit: 'junit.xml',
  pem: 'ca-MODULE-FIRMWARE.pem',
  docs: 'compatibility.md',
  summary: 'summary.txt',
}
