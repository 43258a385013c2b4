import type { Clock } from '../core/clock.js'
import { messageOf } from '../core/errors.js'
import {
  isDeviceError,
  ModuleLost as DeviceLost,
  ModuleStopped as Interrupted,
  recoverModule,
  watchedRequest,
  type Attempt,
  type CaUpload,
  type OpenedModule,
} from '../device/index.js'
import { skipReason, type DevicePlan, type NotRun, type PlanItem, type PlannedAnchor } from '../plan/index.js'
import { verdictKey, type AttemptRecord, type RunStore } from '../store/index.js'
import { displayName } from '../chain/display-name.js'

export interface SurveyObserver {
  onDevice?(label: string, event: 'start' | 'upload' | 'reset' | 'lost' | 'done', detail: string): void
  /**
   * `done`: the device's items recorded so far (a verdict, a finding, or left undone), each once;
   * `total`: its items planned so far; `planning`: more may still be planned (resolution goes on).
   */
  onAttempt?(
    label: string,
    done: number,
    total: number,
    item: PlanItem,
    attempt: AttemptRecord,
    planning?: boolean,
  ): void
}

export interface WorkerContext {
  label: string
  module: OpenedModule
  plan: DevicePlan
  /**
   * More work, as the survey's resolution finds it (each chunk is planned like `plan`). The
   * worker runs each chunk when it arrives and ends when this ends.
   */
  more?: WorkFeed
  runId: string
  runs: RunStore
  clock: Clock
  /**
   * True once the user asked to stop: nothing new starts, recovery gives up, and the request in
   * flight has `stopGraceMs` to end before it is abandoned and recorded as not run (`interrupted`).
   */
  stopping: () => boolean
  /** How long a request in flight may still take once `stopping` holds (default STOP_GRACE_MS). */
  stopGraceMs?: number
  observer?: SurveyObserver
  /** Device time this worker may spend (ms, from its start); what is left then is recorded as not run (`budget`). */
  budgetMs?: number
}

/** More work as resolution finds it; `complete` says whether it ended with the whole plan or was cut short (the run stopping). */
export interface WorkFeed extends AsyncIterable<DevicePlan> {
  readonly complete: boolean
  /** The complete plan is known and all handed out: the worker's total is final. */
  readonly settled: boolean
}

export interface WorkerResult {
  status: 'complete' | 'interrupted' | 'lost'
  lostReason: string | null
  uploads: number
  attempts: number
}

type Fields = Omit<AttemptRecord, 'runId' | 'device' | 'module' | 'firmware' | 'profile' | 'item' | 'recordedAt'>

/**
 * After the first Ctrl-C, how long a request already sent may still take to end with a verdict. A
 * module that stalled would otherwise hold the stop for the whole device time-out (a minute); a
 * request that ends within it keeps its verdict, one that does not is redone by --resume.
 */
export const STOP_GRACE_MS = 10_000

/** How often a wait checks whether the user asked to stop (`stopping` is a question, not an event). */
const STOP_POLL_MS = 50

/** `work`'s result, or null when the user asked to stop and `work` did not end within `graceMs` of it. */
async function withinGrace<T>(work: Promise<T>, stopping: () => boolean, graceMs: number): Promise<T | null> {
  let poll: NodeJS.Timeout | undefined
  let grace: NodeJS.Timeout | undefined
  const abandoned = new Promise<null>((resolve) => {
    const check = () => {
      if (!stopping()) return
      clearInterval(poll)
      grace = setTimeout(() => resolve(null), graceMs)
    }
    poll = setInterval(check, STOP_POLL_MS)
    check()
  })
  try {
    return await Promise.race([work, abandoned])
  } finally {
    clearInterval(poll)
    clearTimeout(grace)
  }
}

/**
 * Runs one device's plan: each anchor uploaded once, every target needing it tried while it is
 * loaded, each verdict recorded as soon as it exists. A verdict is only a complete, well-formed
 * answer from a module in a known state (clock set, the anchor loaded, no restart since): after
 * any link fault the module is reset, re-clocked and given its CA again before anything else,
 * a try without a verdict is retried once, and a second one is recorded as not run (`link`).
 */
export async function runDevice(ctx: WorkerContext): Promise<WorkerResult> {
  const { module: m, plan, runs, runId, label } = ctx
  const done = runs.verdictKeys(runId)
  const key = (i: PlanItem) => verdictKey(label, i.target, i.anchor?.sha256 ?? '-')
  const known: DevicePlan[] = [plan]
  const size = (p: DevicePlan) => p.skipped.length + p.groups.reduce((n, g) => n + g.items.length, 0)
  let total = size(plan)
  // Chunks may still come while resolution goes on: the total is what is planned so far.
  let planning = ctx.more !== undefined
  // Only this device's verdicts: the run's other devices share the set.
  let finished = [...done].filter((k) => k.startsWith(`${label}|`)).length
  // Items ended in this session without a verdict (left undone): counted once, like a verdict.
  const ended = new Set<string>()
  const result: WorkerResult = { status: 'complete', lostReason: null, uploads: 0, attempts: 0 }
  let loaded: { anchor: PlannedAnchor; evidence: CaUpload } | null = null
  /** Restarts seen when the module was last put in a known state. */
  const reboots = { known: m.driver.reboots() }

  /** Records an attempt; `ends`: the item is over for this session (a final attempt, or work left undone). */
  const record = (item: PlanItem, a: Fields, ends = a.final) => {
    const rec: AttemptRecord = {
      runId,
      device: label,
      module: m.identity.module,
      firmware: m.identity.firmware,
      profile: m.profile.id,
      item,
      recordedAt: ctx.clock.now().toISOString(),
      // A must-reject target tried with a borrowed CA: which and why, with its evidence.
      ...(item.borrowed ? { note: item.borrowed } : {}),
      ...a,
    }
    runs.recordAttempt(rec)
    if (a.final) done.add(key(item))
    if (ends && !ended.has(key(item))) {
      ended.add(key(item))
      finished++
    }
    ctx.observer?.onAttempt?.(label, finished, total, item, rec, planning)
  }
  const fromAttempt = (a: Attempt, tryNo: number, final: boolean): Fields => ({
    try: tryNo,
    final,
    outcome: a.outcome,
    class: a.class,
    reason: a.fault ? { reason: a.fault, detail: a.deviceError ?? '' } : null,
    upload: loaded?.evidence ?? null,
    lines: a.lines,
    httpStatus: a.httpStatus,
    bodyBytes: a.bodyBytes,
    durationMs: a.durationMs,
    transcript: a.transcript,
  })
  /** A second try without a verdict: not run, with what the module did say kept as evidence. */
  const noVerdict = (a: Attempt, tryNo: number): Fields => ({
    ...fromAttempt(a, tryNo, true),
    outcome: 'not-run',
    class: null,
  })
  /** Nothing was sent: a finding (final, try 1) or work left undone (not final, try 0). */
  const notRun = (reason: NotRun, final: boolean): Fields => ({
    try: final ? 1 : 0,
    final,
    outcome: 'not-run',
    class: null,
    reason,
    upload: null,
    lines: [],
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 0,
    transcript: [],
  })

  const upload = async (anchor: PlannedAnchor) => {
    const der = runs.certificateDer(anchor.sha256)
    if (!der) throw new Error(`anchor ${anchor.sha256} is not in the database`)
    loaded = null
    const up = await m.driver.uploadCa(der)
    loaded = { anchor, evidence: { command: up.command, ski: up.ski, lines: up.lines } }
    result.uploads++
    ctx.observer?.onDevice?.(label, 'upload', anchor.subject)
  }
  /** Reset, clock, empty store, `anchor` loaded (recoverModule); none once the user asked to stop. */
  const recover = async (why: string, anchor: PlannedAnchor | null) => {
    ctx.observer?.onDevice?.(label, 'reset', why)
    await recoverModule(m.driver, why, {
      stopping: ctx.stopping,
      now: () => ctx.clock.now(),
      upload: anchor ? () => upload(anchor) : null,
      onClean: () => {
        loaded = null
      },
      onRetry: (detail) => ctx.observer?.onDevice?.(label, 'reset', detail),
      reboots,
    })
  }
  /** A step that failed on the link is redone by the recovery itself (which ends with `anchor` loaded). */
  const withRecovery = async (what: string, fn: () => Promise<void>, anchor: PlannedAnchor | null) => {
    try {
      await fn()
    } catch (err) {
      if (!isDeviceError(err)) throw err
      await recover(`${what}: ${err.code}`, anchor)
    }
  }
  /**
   * One request; a restart seen while it ran means the module's state was not the one planned.
   * Stopped while it runs, it gets its grace; then it is recorded as not run (`interrupted`, not
   * final, so --resume does it again) and the worker stops (Interrupted).
   */
  const attempt = async (item: PlanItem, anchor: PlannedAnchor, tryNo: number): Promise<Attempt> => {
    if (m.driver.reboots() !== reboots.known || loaded?.anchor.sha256 !== anchor.sha256)
      await recover('the module restarted', anchor)
    result.attempts++
    const mark = m.channel.transcript.length
    const graceMs = ctx.stopGraceMs ?? STOP_GRACE_MS
    const request = watchedRequest(m.driver, item)
    const a = await withinGrace(request, ctx.stopping, graceMs)
    if (a) return a
    // It ends when the survey closes the port; nobody reads its answer any more.
    request.catch(() => undefined)
    record(
      item,
      {
        ...notRun(
          {
            reason: 'interrupted',
            detail: `the run was stopped while this request was in flight and it had not ended ${graceMs / 1000} s later; --resume runs it again`,
          },
          false,
        ),
        try: tryNo,
        upload: loaded?.evidence ?? null,
        transcript: m.channel.transcript.since(mark),
      },
      true,
    )
    throw new Interrupted()
  }

  // A spent budget is a planned end, not a fault: the rest is recorded, the run completes.
  const startedAt = ctx.clock.monotonic()
  const spent = () => ctx.budgetMs !== undefined && ctx.clock.monotonic() - startedAt >= ctx.budgetMs
  const overBudget = (items: readonly PlanItem[]) => {
    for (const item of items)
      record(
        item,
        notRun(
          {
            reason: 'budget',
            detail: `the device-time budget (${Math.round(ctx.budgetMs! / 60_000)} min) was spent before this attempt`,
          },
          true,
        ),
      )
  }

  const runChunk = async (chunk: DevicePlan) => {
    for (const item of chunk.skipped) {
      if (!done.has(key(item)) && item.skip) record(item, notRun(skipReason(item.skip), true))
    }
    for (const group of chunk.groups) {
      const todo = group.items.filter((i) => !done.has(key(i)))
      if (todo.length === 0) continue
      if (ctx.stopping()) throw new Interrupted()
      if (spent()) {
        overBudget(todo)
        continue
      }
      try {
        // Chunks of a pipelined survey often continue the anchor already loaded.
        if (loaded?.anchor.sha256 !== group.anchor.sha256)
          await withRecovery(`upload ${displayName(group.anchor.subject)}`, () => upload(group.anchor), group.anchor)
      } catch (err) {
        if (
          err instanceof DeviceLost &&
          (isDeviceError(err.cause, 'AT_ERROR') || isDeviceError(err.cause, 'CA_TOO_LARGE'))
        ) {
          // The module refused this CA every time (it cannot parse or store it): a finding for these targets.
          for (const item of todo) record(item, notRun({ reason: 'ca-refused', detail: err.message }, true))
          continue
        }
        throw err
      }
      for (const [n, item] of todo.entries()) {
        if (ctx.stopping()) throw new Interrupted()
        if (spent()) {
          overBudget(todo.slice(n))
          break
        }
        const first = runs.lastTry(runId, label, item.target, group.anchor.sha256) + 1
        let a: Attempt
        try {
          a = await attempt(item, group.anchor, first)
        } catch (err) {
          // A field this module cannot take (nothing was sent): this target's finding, not a lost device.
          if (!isDeviceError(err, 'AT_INVALID_FIELD')) throw err
          record(item, notRun({ reason: 'target-refused', detail: messageOf(err) }, true))
          continue
        }
        if (!a.fault) {
          record(item, fromAttempt(a, first, true))
          continue
        }
        record(item, fromAttempt(a, first, false))
        await recover(a.deviceError ?? 'no verdict', group.anchor)
        const b = await attempt(item, group.anchor, first + 1)
        if (!b.fault) {
          record(item, fromAttempt(b, first + 1, true))
          continue
        }
        record(item, noVerdict(b, first + 1))
        // The next target must not inherit a module in an unknown state.
        await recover(b.deviceError ?? 'no verdict', group.anchor)
      }
    }
  }

  try {
    if (ctx.stopping()) throw new Interrupted()
    ctx.observer?.onDevice?.(label, 'start', `${m.identity.module} ${m.identity.firmware ?? '?'}`)
    await withRecovery(
      'prepare',
      async () => {
        await m.driver.prepare(ctx.clock.now())
        await m.driver.clean()
      },
      null,
    )
    await runChunk(plan)
    if (ctx.more) {
      for await (const chunk of ctx.more) {
        known.push(chunk)
        total += size(chunk)
        // The complete plan is in hand: the total is final (`N/M`, no longer `N/M+`).
        if (ctx.more.settled) planning = false
        await runChunk(chunk)
      }
      planning = false
      // The feed closed without the complete plan (Ctrl-C while targets resolved): this device's
      // work is not all done, whatever it finished.
      if (!ctx.more.complete) throw new Interrupted()
    }
  } catch (err) {
    if (err instanceof Interrupted) result.status = 'interrupted'
    // Anything else is no fault of the device's (a bug of ours, the database failing): it is never
    // recorded as a lost device; the survey stops the run and keeps it resumable.
    else if (!(err instanceof DeviceLost) && !isDeviceError(err)) throw err
    else {
      result.status = 'lost'
      result.lostReason = err instanceof DeviceLost ? err.message : `${err.code}: ${err.message}`
      ctx.observer?.onDevice?.(label, 'lost', result.lostReason)
      const undone = (p: DevicePlan) => {
        // Items planned without the device (unresolved, no anchor, an untrusted CA) keep their own
        // finding: the loss changes nothing about them, and they are never "device lost".
        for (const item of p.skipped)
          if (!done.has(key(item)) && item.skip) record(item, notRun(skipReason(item.skip), true))
        for (const g of p.groups)
          for (const item of g.items)
            if (!done.has(key(item)))
              record(item, notRun({ reason: 'device-lost', detail: result.lostReason ?? '' }, false), true)
      }
      known.forEach(undone)
      // Work the survey finds after the loss is recorded as not done too (and counted in the total).
      if (ctx.more)
        for await (const chunk of ctx.more) {
          total += size(chunk)
          if (ctx.more.settled) planning = false
          undone(chunk)
        }
      planning = false
    }
  }
  ctx.observer?.onDevice?.(label, 'done', result.status)
  return result
}
