export { checkWritable, inspectDb, openDb, storeError } from './db.js'
export { lazyDb } from './lazy-db.js'
export type { Db } from './db.js'
export { ObservationStore, helloHash } from './observations.js'
export { RunStore, verdictKey, NO_ANCHOR } from './runs.js'
export type {
  AttemptRecord,
  AttemptRow,
  LearnRun,
  RunDevice,
  RunKind,
  RunRow,
  RunStatus,
  RunTarget,
  SurveyRun,
} from './runs.js'
export type { LearnRunOptions, StoredTarget, SurveyRunOptions } from './run-options.js'
export { learnRunState } from './learn-runs.js'
export { HistoryStore } from './history.js'
export type { HistoryAnchor, HistoryCert, HistoryObservation, HistoryRun } from './history.js'
export { OUTCOMES } from './attempts.js'
export type { Outcome } from './attempts.js'
export type { KeptConnection, ProbeEvidence } from './schemas.js'
export { pruneRuns } from './retention.js'
export type { Pruned, Retention } from './retention.js'
