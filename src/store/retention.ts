import { storeError, type Db } from './db.js'

export interface Retention {
  /** Runs that started more than this many days before `now` are deleted… */
  days: number
  now: Date
  /** …except this one (the run just made), whatever its date. */
  keep: string | null
}

export interface Pruned {
  runs: string[]
  attempts: number
  observations: number
}

/**
 * Deletes survey runs older than the retention, with their attempts and observations, but keeps
 * forever the latest complete survey of each module@firmware: the history a report compares
 * against (and the only verdicts of a firmware no longer surveyed) is never lost to a schedule.
 * Learn runs are never deleted (the evidence behind a learned profile) and never count as the
 * latest of a firmware. One transaction.
 */
export function pruneRuns(db: Db, path: string, r: Retention): Pruned {
  const cutoff = new Date(r.now.getTime() - r.days * 86_400_000).toISOString()
  try {
    return db
      .transaction(() => {
        const latest = db
          .prepare(
            `SELECT a.module AS module, a.firmware AS firmware,
          max(r.started_at || ' ' || r.id) AS latest
        FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.final = 1 AND a.module IS NOT NULL AND r.status = 'complete' AND r.kind = 'survey'
        GROUP BY a.module, a.firmware`,
          )
          .all() as Array<{ latest: string }>
        const keep = new Set(latest.map((l) => l.latest.slice(l.latest.lastIndexOf(' ') + 1)))
        if (r.keep) keep.add(r.keep)
        const old = (
          db
            .prepare("SELECT id FROM runs WHERE started_at < ? AND kind = 'survey' ORDER BY started_at")
            .all(cutoff) as Array<{ id: string }>
        )
          .map((x) => x.id)
          .filter((id) => !keep.has(id))
        let attempts = 0
        let observations = 0
        for (const id of old) {
          attempts += db.prepare('DELETE FROM attempts WHERE run_id = ?').run(id).changes
          observations += db
            .prepare(
              'DELETE FROM observations WHERE run_id = ? AND id NOT IN (SELECT observation_id FROM attempts WHERE observation_id IS NOT NULL)',
            )
            .run(id).changes
          db.prepare('DELETE FROM runs WHERE id = ?').run(id)
        }
        return { runs: old, attempts, observations }
      })
      .immediate()
  } catch (err) {
    throw storeError(err, path)
  }
}
