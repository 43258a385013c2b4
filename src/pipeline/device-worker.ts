import type { Clock } from '../core/clock.js'
import { messageOf } from '../core/errors.js'
import { isDeviceError, type Attempt, type OpenedModule } from '../device/index.js'
import type { DevicePlan, PlanItem, PlannedAnchor } from '../plan/index.js'
import { verdictKey, type AttemptRecord, type RunStore } from '../store/index.js'

export interface SurveyObserver {
  onDevice?(label: string, event: 'start' | 'upload' | 'reset' | 'lost' | 'done', detail: string): void
  onAttempt?(label: string, done: number, total: number, item: PlanItem, attempt: AttemptRecord): void
}

export interface WorkerContext {
  label: string
  module: OpenedModule
  plan: DevicePlan
  /**
   * More work, as the survey's resolution finds it (each chunk is planned like `plan`). The
   * worker runs each chunk when it arrives and ends when this ends.
   */
  more?: AsyncIterable<DevicePlan>
  runId: string
  runs: RunStore
  clock: Clock
  /** True once the user asked to stop: the attempt in flight finishes, nothing new starts. */
  stopping: () => boolean
  observer?: SurveyObserver
}

export interface WorkerResult {
  status: 'complete' | 'interrupted' | 'lost'
  lostReason: string | null
  uploads: number
  attempts: number
}

class DeviceLost extends Error {}

const RECOVERY_TRIES = 5

/**
 * Runs one device's plan: each anchor uploaded once, every target needing it tried while it is
 * loaded, each verdict recorded as soon as it exists. A link failure gets a reset, a resync, the
 * anchor again and one retry, both tries recorded; a device that cannot be recovered is lost and
 * its remaining work recorded as not done.
 */
export async function runDevice(ctx: WorkerContext): Promise<WorkerResult> {
  const { module: m, plan, runs, runId, label } = ctx
  const done = runs.verdictKeys(runId)
  const key = (i: PlanItem) => verdictKey(label, i.target, i.anchor?.sha256 ?? '-')
  const known: DevicePlan[] = [plan]
  const size = (p: DevicePlan) => p.skipped.length + p.groups.reduce((n, g) => n + g.items.length, 0)
  let total = size(plan)
  let finished = done.size
  const result: WorkerResult = { status: 'complete', lostReason: null, uploads: 0, attempts: 0 }
  let loaded: PlannedAnchor | null = null

  const record = (item: PlanItem, a: Omit<AttemptRecord, 'runId' | 'device' | 'module' | 'firmware' | 'profile' | 'item' | 'recordedAt'>) => {
    const rec: AttemptRecord = { runId, device: label, module: m.identity.module, firmware: m.identity.firmware, profile: m.profile.id, item, recordedAt: ctx.clock.now().toISOString(), ...a }
    runs.recordAttempt(rec)
    if (a.final) {
      done.add(key(item))
      finished++
    }
    ctx.observer?.onAttempt?.(label, finished, total, item, rec)
  }
  const fromAttempt = (a: Attempt, tryNo: number, final: boolean) => ({
    try: tryNo, final, outcome: a.outcome, class: a.class, note: a.deviceError, lines: a.lines, httpStatus: a.httpStatus, bodyBytes: a.bodyBytes, durationMs: a.durationMs, transcript: a.transcript,
  })
  /** Nothing was sent: a finding (final, try 1) or work left undone (not final, try 0). */
  const notRun = (note: string | null, final: boolean) => ({ try: final ? 1 : 0, final, outcome: 'not-run' as const, class: null, note, lines: [], httpStatus: null, bodyBytes: 0, durationMs: 0, transcript: [] })

  const upload = async (anchor: PlannedAnchor) => {
    const der = runs.certificateDer(anchor.sha256)
    if (!der) throw new Error(`anchor ${anchor.sha256} is not in the database`)
    await m.driver.uploadCa(der)
    loaded = anchor
    result.uploads++
    ctx.observer?.onDevice?.(label, 'upload', anchor.subject)
  }
  // A flaky link can eat the recovery's own commands too: a few resets before giving up.
  const recover = async (why: string) => {
    let last: unknown
    for (let i = 0; i < RECOVERY_TRIES; i++) {
      ctx.observer?.onDevice?.(label, 'reset', i === 0 ? why : `${why} (again: ${messageOf(last)})`)
      try {
        await m.driver.reset()
        await m.driver.prepare(ctx.clock.now())
        await m.driver.clean()
        if (loaded) await upload(loaded)
        return
      } catch (err) {
        if (!isDeviceError(err)) throw err
        last = err
      }
    }
    throw new DeviceLost(`${RECOVERY_TRIES} resets after "${why}" failed: ${messageOf(last)}`)
  }
  const withRecovery = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      if (!isDeviceError(err)) throw err
      await recover(`${what}: ${err.code}`)
      try {
        await fn()
      } catch (err2) {
        throw new DeviceLost(`${what} failed twice: ${messageOf(err2)}`, { cause: err2 })
      }
    }
  }

  const runChunk = async (chunk: DevicePlan) => {
    for (const item of chunk.skipped) {
      if (!done.has(key(item))) record(item, notRun(item.skip?.note ?? null, true))
    }
    for (const group of chunk.groups) {
      const todo = group.items.filter((i) => !done.has(key(i)))
      if (todo.length === 0) continue
      if (ctx.stopping()) throw new Interrupted()
      try {
        // Chunks of a pipelined survey often continue the anchor already loaded.
        if (loaded?.sha256 !== group.anchor.sha256) await withRecovery(`upload ${group.anchor.subject.slice(0, 40)}`, () => upload(group.anchor))
      } catch (err) {
        if (err instanceof DeviceLost && isDeviceError(err.cause, 'AT_ERROR')) {
          // The module refused this CA (it cannot parse or store it): a finding for these targets.
          for (const item of todo) record(item, notRun(`ca-refused: ${err.message}`, true))
          continue
        }
        throw err
      }
      for (const item of todo) {
        if (ctx.stopping()) throw new Interrupted()
        const first = runs.lastTry(runId, label, item.target, group.anchor.sha256) + 1
        const a = await m.driver.httpsGet(item)
        result.attempts++
        if (a.class === 'device' && a.deviceError) {
          record(item, fromAttempt(a, first, false))
          await recover(a.deviceError)
          const b = await m.driver.httpsGet(item)
          result.attempts++
          record(item, fromAttempt(b, first + 1, true))
        } else {
          record(item, fromAttempt(a, first, true))
        }
      }
    }
  }

  try {
    if (ctx.stopping()) throw new Interrupted()
    ctx.observer?.onDevice?.(label, 'start', `${m.identity.module} ${m.identity.firmware ?? '?'}`)
    await withRecovery('prepare', async () => {
      await m.driver.prepare(ctx.clock.now())
      await m.driver.clean()
    })
    await runChunk(plan)
    if (ctx.more) {
      for await (const chunk of ctx.more) {
        known.push(chunk)
        total += size(chunk)
        await runChunk(chunk)
      }
    }
  } catch (err) {
    if (err instanceof Interrupted) result.status = 'interrupted'
    else {
      result.status = 'lost'
      result.lostReason = err instanceof DeviceLost ? err.message : `unexpected: ${messageOf(err)}`
      ctx.observer?.onDevice?.(label, 'lost', result.lostReason)
      const undone = (p: DevicePlan) => { for (const g of p.groups) for (const item of g.items) if (!done.has(key(item))) record(item, notRun(`device lost: ${result.lostReason}`, false)) }
      known.forEach(undone)
      // Work the survey finds after the loss is recorded as not done too.
      if (ctx.more) for await (const chunk of ctx.more) undone(chunk)
    }
  }
  ctx.observer?.onDevice?.(label, 'done', result.status)
  return result
}

class Interrupted extends Error {}
