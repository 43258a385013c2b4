export { openDb, storeError } from './db.js'
export type { Db } from './db.js'
export { ObservationStore, helloHash } from './observations.js'
