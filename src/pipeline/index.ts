export { resolveBatch } from './resolve-batch.js'
export type { BatchObserver, BatchOptions, BatchResult } from './resolve-batch.js'
