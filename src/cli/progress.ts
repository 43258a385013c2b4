import type { Observation } from '../chain/index.js'
import type { BatchObserver } from '../pipeline/index.js'
import type { Io } from './io.js'
import { termSafe } from '../core/sanitize.js'

/** A bar on a terminal, one plain line per target elsewhere (CI logs, cron mail). */
export function resolveProgress(io: Io): BatchObserver & { end(): void } {
  const tty = io.stderr.isTTY === true
  let drawn = false
  return {
    onResult(o: Observation, done: number, total: number) {
      const status = o.error ? o.error.code : `${o.protocol ?? ''} ${o.served.length} certs ${o.anchors.length} anchors`
      if (tty) {
        const width = 30
        const filled = Math.round((done / total) * width)
        const line = `resolving [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${termSafe(o.target)}`
        io.stderr.write(`\r\x1b[2K${line.slice(0, (io.stderr.columns ?? 100) - 1)}`)
        drawn = true
      } else {
        io.stderr.write(`[${done}/${total}] ${termSafe(o.target)} ${status} ${Math.round(o.timings.totalMs)}ms\n`)
      }
    },
    end() {
      if (drawn) io.stderr.write('\r\x1b[2K')
    },
  }
}
