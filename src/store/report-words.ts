/**
 * The report's formats and gates: words a run keeps with it (a nightly run resumed later still
 * writes its report and judges its gate), so the store checks them when it reads a run back. The
 * report and the CLI name them from here (src/report/formats.ts); no dependency, so --help loads
 * neither a renderer nor a schema library.
 */
export const REPORT_FORMATS = ['html', 'md', 'csv', 'json', 'junit', 'pem', 'docs', 'summary'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]
export const FAIL_ON = ['regression', 'unsafe', 'any-fail', 'never'] as const
export type FailOn = (typeof FAIL_ON)[number]
