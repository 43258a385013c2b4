export { inspectDb, openDb, storeError } from './db.js'
export { lazyDb } from './lazy-db.js'
export type { Db } from './db.js'
export { ObservationStore, helloHash } from './observations.js'
export { RunStore, verdictKey, NO_ANCHOR } from './runs.js'
export type {
  AttemptRecord,
  AttemptRow,
  RunDevice,
  RunKind,
  RunRow,
  RunStatus,
  RunTarget,
  UploadEvidence,
} from './runs.js'
export { learnRunState } from './learn-runs.js'
export type { LearnProbeRow } from './learn-runs.js'
export { HistoryStore } from './history.js'
export type { HistoryAttempt, HistoryCert, HistoryObservation, HistoryRun } from './history.js'
export { pruneRuns } from './retention.js'
export type { Pruned, Retention } from './retention.js'
