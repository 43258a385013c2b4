import { existsSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import type { Clock } from '../core/clock.js'
import { AppError } from '../core/errors.js'
import {
  checkWritable,
  lazyDb,
  RunStore,
  type Db,
  type LearnRun,
  type RunKind,
  type RunRow,
  type RunStatus,
  type SurveyRun,
} from '../store/index.js'
import type { JobIo } from './io.js'

/** The run store a session hands to the work: it remembers the run created, and stamps it with the rig. */
class SessionRuns extends RunStore {
  created: string | null = null
  constructor(
    db: Db,
    path: string,
    private readonly rig: string,
  ) {
    super(db, path)
  }
  override createRun(run: RunRow): void {
    // The rig is the command's fact, not the survey's, so it is stamped here.
    super.createRun({ ...run, rig: run.rig ?? this.rig })
    this.created = run.id
  }
}

/** What a session tells its job about Ctrl-C, so the job can say it. */
export interface SessionWatch {
  /** The first Ctrl-C: nothing new starts. */
  stop(): void
  /** The second: the run (if any) is already marked interrupted; the process leaves with exit 3. */
  insist(runId: string | null): void
}

/**
 * One run in its database, as `run` and `learn` both live it: checked before anything is created,
 * created or resumed, stopped by a first Ctrl-C, marked interrupted by a second, ended with its
 * status. The database is opened at its first use (see lazyDb): a run refused before it records
 * anything (a device in use) leaves no database behind.
 */
export class RunSession {
  readonly runs: SessionRuns
  /** The run being resumed, once resume() has found it. */
  resumed: RunRow | null = null
  private reserved: string | null = null
  private readonly stopper = new AbortController()

  private constructor(
    readonly dbPath: string,
    private readonly handle: { db: Db; close(): void },
    rig: string,
  ) {
    this.runs = new SessionRuns(handle.db, dbPath, rig)
  }

  /**
   * A run to resume lives in an existing database: nothing is created to find that out. Checked
   * before the inputs are, so a mistyped --db names itself first.
   */
  static checkResumable(dbPath: string, what: string): void {
    if (!existsSync(dbPath) || statSync(dbPath).size === 0)
      throw new AppError('RUN_NOT_RESUMABLE', `no database at ${dbPath}: ${what} cannot be resumed from it`)
  }

  /**
   * The database checked before any device is touched or any run id announced: ours,
   * then not damaged and not locked (checkWritable), so a run that cannot record is refused while
   * nothing has run. Opened at first use.
   */
  static open(dbPath: string, opts: { rig?: string | undefined } = {}): RunSession {
    checkWritable(dbPath)
    return new RunSession(dbPath, lazyDb(dbPath), opts.rig ?? hostname())
  }

  get db(): Db {
    return this.handle.db
  }

  /** The run's id once known: the one resumed, the one reserved for it, or the one created. */
  get runId(): string | null {
    return this.resumed?.id ?? this.reserved ?? this.runs.created
  }

  /** A job that picks its run's id before creating it (learn): Ctrl-C names it from then on. */
  reserve(id: string): void {
    this.reserved = id
  }

  /** True after the first Ctrl-C: nothing new starts. */
  get stopping(): boolean {
    return this.stopper.signal.aborted
  }

  /** Aborted by the first Ctrl-C: work that can be abandoned (connections resolving targets) ends at once. */
  get signal(): AbortSignal {
    return this.stopper.signal
  }

  /**
   * The run to finish, checked: it exists, is of this kind and is not complete. The messages are
   * the commands' own (a survey's unknown id is RUN_NOT_RESUMABLE, a learn's USAGE, as before).
   */
  resume(id: string, kind: 'survey'): SurveyRun
  resume(id: string, kind: 'learn'): LearnRun
  resume(id: string, kind: RunKind): RunRow {
    const run = this.runs.getRun(id)
    if (kind === 'survey') {
      if (!run) throw new AppError('RUN_NOT_RESUMABLE', `no run ${id} in ${this.dbPath}`)
      if (run.kind === 'learn')
        throw new AppError('USAGE', `run ${run.id} is a learn run; use tlsmatrix learn --resume ${run.id}`)
      if (run.status === 'complete') throw new AppError('RUN_NOT_RESUMABLE', `run ${run.id} is already complete`)
    } else {
      if (!run) throw new AppError('USAGE', `no run ${id} in ${this.db.name}: nothing to resume`)
      if (run.kind !== 'learn')
        throw new AppError('USAGE', `run ${id} is a survey, not a learn run; use tlsmatrix run --resume ${id}`)
      if (run.status === 'complete') throw new AppError('RUN_NOT_RESUMABLE', `learn run ${run.id} is already complete`)
    }
    this.resumed = run
    return run
  }

  /**
   * Ctrl-C. The first stops new work (`stopping`); the second marks the run interrupted at once
   * (better-sqlite3 is synchronous: the mark is on disk before the process leaves) and exits 3.
   */
  watch(io: JobIo, clock: Clock, on: SessionWatch): void {
    void io.interrupted.then(() => {
      this.stopper.abort()
      on.stop()
    })
    io.onInsist?.(() => {
      const id = this.runId
      this.markInterrupted(clock)
      on.insist(id)
      return 3
    })
  }

  /** A run still `running` (none other) becomes `interrupted`: resumable, never left running for ever. */
  markInterrupted(clock: Clock): void {
    const id = this.runId
    if (id && this.runs.getRun(id)?.status === 'running')
      this.runs.updateRun(id, { status: 'interrupted', endedAt: clock.now().toISOString() })
  }

  /** A resumed run is running again until it ends. */
  markRunning(): void {
    const id = this.runId
    if (id) this.runs.updateRun(id, { status: 'running', endedAt: null })
  }

  /** The run's end: its status, when, and what its devices did. */
  end(status: RunStatus, clock: Clock, fields: Pick<Partial<RunRow>, 'devices'> = {}): void {
    const id = this.runId
    if (!id) throw new Error('RunSession.end: no run to end')
    this.runs.updateRun(id, { status, endedAt: clock.now().toISOString(), ...fields })
  }

  /** True when the run exists in the database (a survey stopped during resolution never created it). */
  exists(id: string): boolean {
    return this.runs.getRun(id) !== null
  }

  close(): void {
    this.handle.close()
  }
}
