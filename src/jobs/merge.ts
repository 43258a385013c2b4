import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve as resolvePath } from 'node:path'
import { AppError, isAppError } from '../core/errors.js'
import { checkWritable, openDb, storeError, type Db } from '../store/index.js'
import { checkSource, mergeInto, type MergeCounts } from '../store/merge.js'
import { snapshotDb } from '../store/snapshot.js'
import type { JobIo } from './io.js'

export interface MergeJobOptions {
  into: string
}

export interface MergeJobResult {
  into: string
  sources: Array<{ source: string } & MergeCounts>
}

/** The file a path names (device and inode, links followed), or null when there is none yet. */
function fileId(path: string): string | null {
  try {
    const s = statSync(path)
    return `${s.dev}:${s.ino}`
  } catch {
    return null
  }
}

/**
 * The merge job: several rigs' databases into one history. Every source is copied (a consistent
 * snapshot, migrated) and each of its rows checked against the store's schemas
 * (src/store/schemas.ts) before the history is opened; all sources go in one transaction, so a
 * refusal or a conflict leaves the history as it was.
 */
export async function mergeJob(sources: readonly string[], opts: MergeJobOptions, io: JobIo): Promise<MergeJobResult> {
  const into = resolvePath(io.cwd, opts.into)
  const paths = sources.map((s) => resolvePath(io.cwd, s))
  // A link (symbolic or hard) or another spelling of the history is the history: compare files, not names.
  const intoId = fileId(into)
  if (paths.some((p) => p === into || (intoId !== null && fileId(p) === intoId)))
    throw new AppError('USAGE', `${opts.into} is both a source and --into; give the history once`)
  const tmp = mkdtempSync(resolvePath(tmpdir(), 'tlsmatrix-merge-'))
  const snapshots: Db[] = []
  try {
    for (const [i, p] of paths.entries()) snapshots.push(await snapshotDb(p, tmp, i))
    // Every row of every source is checked before the history is opened: a refusal writes nothing.
    for (const [i, s] of snapshots.entries()) checkSource(s, paths[i]!)
    checkWritable(into)
    const history = openDb(into)
    let results: MergeCounts[]
    try {
      results = history.transaction(() => snapshots.map((s, i) => mergeInto(history, s, paths[i]!))).immediate()
    } catch (err) {
      throw isAppError(err) ? err : storeError(err, into)
    } finally {
      history.close()
    }
    return { into, sources: results.map((r, i) => ({ source: paths[i]!, ...r })) }
  } finally {
    for (const s of snapshots) s.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}
