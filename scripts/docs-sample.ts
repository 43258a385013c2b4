/**
 * npm run docs:sample — renders docs/sample/index.html, matrix.md, compatibility.md and summary.txt, the report of the field
 * report, from the survey kept in docs/sample/field-report.db, with a fixed clock: the files
 * change only when the report's rendering does (a test compares them with a fresh rendering).
 * `-- --refresh` surveys again first (the demo: lab + emulated modules) and replaces the database.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { run } from '../src/cli/run.js'
import { writeReport } from '../src/report/write.js'
import { openDb } from '../src/store/index.js'

export const SAMPLE_DIR = fileURLToPath(new URL('../docs/sample/', import.meta.url))
export const SAMPLE_DB = join(SAMPLE_DIR, 'field-report.db')
/** The sample's "now": expiry forecasts and the generation time never move. */
export const SAMPLE_NOW = new Date('2026-11-01T00:00:00.000Z')

/** Renders the sample from a copy of the kept database (opening it would migrate or touch it). */
export async function renderSample(outDir: string): Promise<string[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'tlsmatrix-sample-'))
  try {
    const copy = join(tmp, 'sample.db')
    copyFileSync(SAMPLE_DB, copy)
    const db = openDb(copy)
    try {
      const w = await writeReport(db, {
        runs: [],
        baseline: 'SPWF04SA@1.0.0',
        candidate: 'SPWF04SA@1.1.0',
        tags: [],
        expiryDays: 90,
        title: 'Field report: SPWF04SA 1.0.0, 1.1.0 and SPWF01SA 3.5.3 (sample)',
        now: SAMPLE_NOW,
        formats: ['html', 'md', 'docs', 'summary'],
        outDir,
        failOn: 'never',
      })
      return w.files
    } finally {
      db.close()
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function refresh(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tlsmatrix-sample-survey-'))
  const db = join(tmp, 'survey.db')
  const io = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    interrupted: new Promise<void>(() => {}),
  }
  const code = await run(['demo', '--db', db, '--report', join(tmp, 'reports')], io)
  if (code !== 0) throw new Error(`the demo survey exited ${code}`)
  // One self-contained file: no -wal beside it.
  const d = new Database(db)
  d.pragma('journal_mode = DELETE')
  d.exec('VACUUM')
  d.close()
  renameSync(db, SAMPLE_DB)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--refresh')) await refresh()
  for (const f of await renderSample(SAMPLE_DIR)) console.log(`wrote ${f}`)
}
