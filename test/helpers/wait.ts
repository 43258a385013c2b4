import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls until `done()` holds: the wait follows the work. The bound is only there so a broken run
 * fails the test instead of hanging the suite; it is far above what a busy machine needs.
 */
export async function waitFor(done: () => boolean, what: string, boundMs = 120_000): Promise<void> {
  const end = performance.now() + boundMs
  while (!done()) {
    if (performance.now() > end) throw new Error(`gave up after ${boundMs} ms waiting for ${what}`)
    await sleep(20)
  }
}
