/**
 * The report's formats, each rendered from the model alone (no database): Markdown as a string,
 * the others streamed to a Writable with backpressure and left open for the caller to end.
 */
export { renderMarkdown } from './markdown.js'
export { renderDocs, type CertificateDer } from './docs.js'
export { renderSummary } from './summary.js'
export { writeAttemptsCsv, CSV_COLUMNS, type CsvAttempt } from './csv.js'
export { writeReportJson } from './json.js'
export { writeJunit, testcaseResult, type TestcaseResult } from './junit.js'
export { md, xmlText, xmlAttr, oneLine } from './text.js'
