import { createHash, randomBytes } from 'node:crypto'
import {
  DEFAULT_AIA,
  DEFAULT_HELLO,
  Resolver,
  type CertCache,
  type HelloProfile,
  type Observation,
  type TrustStore,
} from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { AppError, isAppError, messageOf } from '../core/errors.js'
import { asAppError } from '../core/system-errors.js'
import { lockDevice, type EmulatorOpener, type OpenedModule } from '../device/index.js'
import { helloOf } from '../profile/index.js'
import { openModule, planModule } from '../families/index.js'
import type { ResolveMap, Target } from '../hosts/index.js'
import { planDevice, type AnchorChoice, type DevicePlan, type TargetObservations } from '../plan/index.js'
import {
  helloHash,
  type ObservationStore,
  type RunDevice,
  type RunRow,
  type RunStore,
  type SurveyRun,
  type SurveyRunOptions,
} from '../store/index.js'
import { DeviceFeed } from './device-feed.js'
import { runDevice, type SurveyObserver, type WorkerResult } from './device-worker.js'
import { resolveBatch } from './resolve-batch.js'

export interface DeviceArg {
  label: string
  url: string
}

export interface SurveyInput {
  targets: Target[]
  hostsFile: string
  hostsText: string
  devices: DeviceArg[]
  profileDirs: string[]
  resolveEntries: string[]
  /** --connect-to entries, handed to emulators started for emu: devices with the --resolve ones. */
  connectToEntries?: string[]
  resolveMap: ResolveMap
  store: TrustStore
  cache: CertCache
  aiaAllowPrivate: boolean
  anchors: AnchorChoice
  label: string | null
  concurrency: number
  timeoutMs: number
  /** How long a device may take for one HTTPS request before the link is presumed dead. */
  deviceTimeoutMs: number
  /** Device time each device may spend on attempts (ms); the rest is recorded as not run (`budget`). */
  deviceBudgetMs?: number
  toolVersion: string
  /** Options to keep with the run, so --resume can repeat them. */
  options: SurveyRunOptions
  /** The run to finish, for --resume. */
  resume: SurveyRun | null
}

export interface SurveyDeps {
  observations: ObservationStore
  runs: RunStore
  clock: Clock
  stopping: () => boolean
  /**
   * Aborted when the user asks to stop: resolutions in flight are abandoned at once (their
   * connections and AIA downloads closed, nothing recorded for those targets), as no verdict waits on them.
   */
  signal?: AbortSignal
  /** How long a device request in flight may still take once `stopping` holds (the worker's default). */
  stopGraceMs?: number
  observer?: SurveyObserver
  onPhase?: (text: string) => void
  /** What starts the module behind an `emu:` device (default: a `tlsmatrix emulate` process). */
  emulator?: EmulatorOpener
}

export interface SurveyResult {
  runId: string
  status: RunRow['status']
  devices: RunDevice[]
  results: Map<string, WorkerResult>
  /** Where the wall time went, in ms from the start of the run; phases overlap. */
  timeline: Span[]
}

export interface Span {
  phase: string
  startMs: number
  endMs: number
}

export function newRunId(clock: Clock): string {
  return `${clock.now().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(2).toString('hex')}`
}

/**
 * The survey: lock and identify every device, resolve every target once per distinct
 * ClientHello, plan each device's work, then run the devices in parallel, one worker each.
 */
export async function runSurvey(input: SurveyInput, given: SurveyDeps): Promise<SurveyResult> {
  // What stopped a device's work that was no fault of the device (a bug of ours, the database
  // failing): the whole survey stops as on Ctrl-C, and the run is kept resumable.
  let failure: { label: string; err: unknown } | null = null
  // One stop for the resolutions: the user's (signal or `stopping`) or a failure's.
  const stop = new AbortController()
  const stopping = () => {
    const yes = given.stopping() || failure !== null || (given.signal?.aborted ?? false)
    if (yes && !stop.signal.aborted) stop.abort()
    return yes
  }
  if (given.signal?.aborted) stop.abort()
  else given.signal?.addEventListener('abort', () => stop.abort(), { once: true })
  const deps: SurveyDeps = { ...given, stopping, signal: stop.signal }
  const runId = input.resume?.id ?? newRunId(deps.clock)
  const unlocks: Array<() => void> = []
  const opened = new Map<string, OpenedModule>()
  const t0 = deps.clock.monotonic()
  const timeline: Span[] = []
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const startMs = deps.clock.monotonic() - t0
    try {
      return await fn()
    } finally {
      timeline.push({ phase, startMs, endMs: deps.clock.monotonic() - t0 })
    }
  }
  const resolutions = new Resolutions(input, deps, timed, runId)
  try {
    for (const d of input.devices) unlocks.push(await lockDevice(d.url, runId))
    // The broad hello needs no device: a new run resolves with it while the devices open.
    if (!input.resume) void resolutions.start(helloHash(DEFAULT_HELLO), DEFAULT_HELLO, 'broad')
    deps.onPhase?.(`run ${runId}: opening ${input.devices.length} device(s)`)
    const openErrors = new Map<string, unknown>()
    const devices: RunDevice[] = await Promise.all(
      input.devices.map(async (d): Promise<RunDevice> => {
        try {
          // A module is opened and identified in one step (an emulator starts first).
          const m = await timed(`open+identify ${d.label}`, () =>
            openModule(d.url, {
              resolve: input.resolveEntries,
              connectTo: input.connectToEntries ?? [],
              profileDirs: input.profileDirs,
              timeouts: { httpMs: input.deviceTimeoutMs },
              emulator: deps.emulator,
            }),
          )
          opened.set(d.label, m)
          return {
            label: d.label,
            url: d.url,
            module: m.identity.module,
            firmware: m.identity.firmware,
            build: m.identity.build,
            profile: m.profile.id,
            warning: m.profileWarning,
            lost: null,
          }
        } catch (err) {
          openErrors.set(d.label, err)
          return {
            label: d.label,
            url: d.url,
            module: null,
            firmware: null,
            build: null,
            profile: null,
            warning: null,
            lost: `cannot open: ${messageOf(err)}`,
          }
        }
      }),
    )
    for (const d of devices) if (d.warning) deps.onPhase?.(`${d.label}: ${d.warning}`)
    // No device opened: nothing can be surveyed, so the run is neither created nor touched (a
    // resumed one keeps its status), and the error names each device and why.
    if (opened.size === 0) {
      stop.abort()
      throw notOpened(input.devices, openErrors, input.resume !== null)
    }
    const stored = input.resume?.plan ?? null
    // The profile each device is judged with is kept with the run: a report renders from the database alone.
    const profiles = {
      ...(input.resume?.profiles ?? {}),
      ...Object.fromEntries([...opened].map(([label, m]) => [label, m.profile])),
    }
    if (!input.resume) {
      deps.runs.createRun({
        id: runId,
        label: input.label,
        startedAt: deps.clock.now().toISOString(),
        endedAt: null,
        status: 'running',
        toolVersion: input.toolVersion,
        hostsFile: input.hostsFile,
        hostsHash: sha(input.hostsText),
        trustStoreHash: input.store.hash(),
        devices,
        options: input.options,
        plan: null,
        profiles,
        targets: input.targets.map((t) => ({
          id: t.id,
          host: t.host,
          port: t.port,
          path: t.path,
          tags: t.tags,
          expect: t.expect,
          line: t.source.line,
        })),
      })
    } else {
      deps.runs.updateRun(runId, { status: 'running', devices, profiles })
    }
    // A device that could not be opened when the run began is planned when it comes back.
    const unplanned = input.devices.filter((d) => opened.has(d.label) && !stored?.some((p) => p.device === d.label))
    const feeds = new Map<string, DeviceFeed>()
    for (const d of stored ? unplanned : input.devices) {
      const m = opened.get(d.label)
      if (m) feeds.set(d.label, new DeviceFeed(d.label, planModule(m.profile), input.anchors))
    }
    // Devices start on the first planned targets while the rest resolve; the plan is stored
    // once complete, so --resume always finds the whole, deterministic plan or none.
    let planComplete = feeds.size === 0
    const planning =
      feeds.size === 0
        ? Promise.resolve()
        : (async () => {
            try {
              const fresh = await resolveAndPlan(
                { ...input, devices: stored ? unplanned : input.devices },
                deps,
                opened,
                feeds,
                resolutions,
                timed,
              )
              if (fresh) {
                deps.runs.updateRun(runId, { plan: [...(stored ?? []), ...fresh] })
                planComplete = true
              }
            } finally {
              for (const f of feeds.values()) f.close()
            }
          })()
    const results = new Map<string, WorkerResult>()
    const working = Promise.all(
      input.devices.map(async (d) => {
        const m = opened.get(d.label)
        const feed = feeds.get(d.label)
        const devicePlan =
          stored?.find((p) => p.device === d.label) ?? (feed ? { device: d.label, groups: [], skipped: [] } : undefined)
        if (!m || !devicePlan) {
          results.set(d.label, {
            status: 'lost',
            lostReason: devices.find((x) => x.label === d.label)?.lost ?? 'no plan for this device',
            uploads: 0,
            attempts: 0,
          })
          return
        }
        results.set(
          d.label,
          await timed(`device work ${d.label}`, () =>
            runDevice({
              label: d.label,
              module: m,
              plan: devicePlan,
              ...(feed ? { more: feed } : {}),
              runId,
              runs: deps.runs,
              clock: deps.clock,
              stopping: deps.stopping,
              ...(deps.stopGraceMs !== undefined ? { stopGraceMs: deps.stopGraceMs } : {}),
              ...(deps.observer ? { observer: deps.observer } : {}),
              ...(input.deviceBudgetMs !== undefined ? { budgetMs: input.deviceBudgetMs } : {}),
            }).catch((err: unknown): WorkerResult => {
              failure ??= { label: d.label, err }
              stop.abort()
              return { status: 'interrupted', lostReason: null, uploads: 0, attempts: 0 }
            }),
          ),
        )
      }),
    )
    // Workers end on their own once planning ends (their feeds close); never tear down under them.
    const [planned] = await Promise.allSettled([planning, working])
    if (planned.status === 'rejected') {
      deps.runs.updateRun(runId, { status: 'interrupted', endedAt: deps.clock.now().toISOString() })
      throw planned.reason
    }
    for (const d of devices) {
      const r = results.get(d.label)
      if (r?.status === 'lost') d.lost = r.lostReason
      d.uploads = r?.uploads ?? 0
      d.requests = r?.attempts ?? 0
    }
    const all = [...results.values()]
    // Stopped while resolving: the plan is not stored and the run is not complete.
    const status: RunRow['status'] =
      all.some((r) => r.status === 'interrupted') || !planComplete
        ? 'interrupted'
        : all.some((r) => r.status === 'lost')
          ? 'device-lost'
          : 'complete'
    deps.runs.updateRun(runId, { status, endedAt: deps.clock.now().toISOString(), devices })
    if (failure) throw stoppedBy(failure, runId)
    return { runId, status, devices, results, timeline }
  } finally {
    // A run that failed before planning leaves no resolution behind.
    await resolutions.settled()
    await timed('teardown', () =>
      Promise.all([...opened.values()].map((m) => m.transport.close().catch(() => undefined))),
    )
    for (const u of unlocks) u()
    // A run refused before any work (DEVICE_BUSY) has nothing but an empty teardown to show.
    if (timeline.some((t) => t.phase !== 'teardown')) deps.onPhase?.(`wall time: ${timelineText(timeline)}`)
  }
}

/** None of the devices opened: the first one's error (its code), naming every device, its URL and why. */
function notOpened(devices: readonly DeviceArg[], errors: ReadonlyMap<string, unknown>, resumed: boolean): AppError {
  const lines = devices.map((d) => {
    const why = messageOf(errors.get(d.label))
    return `cannot open device ${d.label}: ${why.startsWith(d.url) ? why : `${d.url}: ${why}`}`
  })
  // A resumed run is left as it was; the command adds how to resume it once the device opens.
  if (!resumed)
    lines.push('no run was created: check the device (tlsmatrix doctor --device URL), then start the run again')
  const first = asAppError(errors.get(devices[0]!.label))
  return new AppError(first.code, lines.join('\n'), { cause: errors.get(devices[0]!.label) })
}

/**
 * The error that stopped the run, as the command reports it: its own when it is one of ours with a
 * code (the database failing), INTERNAL for a bug, never a device fault. The run is interrupted.
 */
function stoppedBy(failure: { label: string; err: unknown }, runId: string): AppError {
  if (isAppError(failure.err)) return failure.err
  const e = new AppError(
    'INTERNAL',
    `a bug in tlsmatrix stopped run ${runId} (device ${failure.label}: ${messageOf(failure.err)}); the module is not at fault, and what was recorded is kept`,
    { cause: failure.err },
  )
  // TLSMATRIX_DEBUG shows where the bug is, not where it was reported.
  if (failure.err instanceof Error && failure.err.stack) e.stack = failure.err.stack
  return e
}

export function timelineText(timeline: readonly Span[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(2)
  return [...timeline]
    .sort((a, b) => a.startMs - b.startMs)
    .map((t) => `${t.phase} ${s(t.startMs)}-${s(t.endMs)} s`)
    .join(', ')
}

type Seen = { obs: Observation; id: number | null }

/**
 * The survey's resolutions, one per distinct ClientHello, each with up to --concurrency targets
 * at once (a shared budget would queue a device's own hello behind every broad target, and one
 * slow server would hold both); each observation is recorded as it arrives and reported.
 */
class Resolutions {
  readonly byHello = new Map<string, Map<string, Seen>>()
  private readonly running = new Map<string, Promise<boolean>>()
  private listener: ((key: string, targetId: string) => void) | null = null

  constructor(
    private readonly input: SurveyInput,
    private readonly deps: SurveyDeps,
    private readonly timed: <T>(phase: string, fn: () => Promise<T>) => Promise<T>,
    private readonly runId: string,
  ) {}

  /** Resolves every target with this hello (once per key); true when none was left out by a stop. */
  start(key: string, hello: HelloProfile, who: string): Promise<boolean> {
    let p = this.running.get(key)
    if (p) return p
    const ids = new Map<string, Seen>()
    this.byHello.set(key, ids)
    const resolver = new Resolver({
      store: this.input.store,
      cache: this.input.cache,
      hello,
      timeoutMs: this.input.timeoutMs,
      resolveMap: this.input.resolveMap,
      clock: this.deps.clock,
      aia: { ...DEFAULT_AIA, allowPrivate: this.input.aiaAllowPrivate },
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    })
    p = this.timed(`resolve (${who})`, () =>
      resolveBatch(this.input.targets, resolver, {
        concurrency: this.input.concurrency,
        clock: this.deps.clock,
        stopping: this.deps.stopping,
        ...(this.deps.signal ? { signal: this.deps.signal } : {}),
        record: (o) => {
          ids.set(o.target, { obs: o, id: this.deps.observations.record(o, hello, this.runId) })
        },
        observer: {
          onResult: (o) => {
            if (!ids.has(o.target)) ids.set(o.target, { obs: o, id: null })
            this.listener?.(key, o.target)
          },
        },
      }),
    ).then((batch) => batch.observations.length === this.input.targets.length)
    this.running.set(key, p)
    return p
  }

  /** From now on every arrival is reported; those so far are reported at once. */
  listen(fn: (key: string, targetId: string) => void): void {
    this.listener = fn
    for (const [key, ids] of this.byHello) for (const id of [...ids.keys()]) fn(key, id)
  }

  async settled(): Promise<void> {
    await Promise.allSettled(this.running.values())
  }
}

/**
 * Resolves each target with the broad hello and with each distinct device hello, all at once,
 * handing each target to the devices' feeds as soon as its observations are in; then plans.
 * Returns null when stopped before every target was resolved.
 */
async function resolveAndPlan(
  input: SurveyInput,
  deps: SurveyDeps,
  opened: Map<string, OpenedModule>,
  feeds: Map<string, DeviceFeed>,
  resolutions: Resolutions,
  timed: <T>(phase: string, fn: () => Promise<T>) => Promise<T>,
): Promise<DevicePlan[] | null> {
  const broadKey = helloHash(DEFAULT_HELLO)
  const hellos = new Map<string, HelloProfile>([[broadKey, DEFAULT_HELLO]])
  const users = new Map<string, string[]>([[broadKey, []]])
  const members = [...opened].filter(([l]) => input.devices.some((d) => d.label === l))
  for (const [label, m] of members) {
    const key = helloHash(helloOf(m.profile))
    hellos.set(key, helloOf(m.profile))
    users.set(key, [...(users.get(key) ?? []), label])
  }
  const byId = new Map(input.targets.map((t) => [t.id, t]))
  const handed = new Set<string>()
  const arrived = (key: string, targetId: string) => {
    const t = byId.get(targetId)
    // After Ctrl-C nothing new starts: what resolves now is planned again by --resume.
    if (!t || deps.stopping()) return
    const broad = resolutions.byHello.get(broadKey)
    for (const [label, m] of members) {
      const ownKey = helloHash(helloOf(m.profile))
      if (key !== broadKey && key !== ownKey) continue
      const o = resolutions.byHello.get(ownKey)?.get(targetId)
      const b = broad?.get(targetId)
      if (!o || !b || handed.has(`${label}\n${targetId}`)) continue
      handed.add(`${label}\n${targetId}`)
      feeds.get(label)?.ready(t, { device: o, broad: b })
    }
  }
  const running = [...hellos].map(([key, hello]) => {
    const who = users.get(key)!.join(', ')
    deps.onPhase?.(
      `resolving ${input.targets.length} target(s) with ${key === broadKey ? `the broad ClientHello${who ? ` (also ${who}'s)` : ''}` : `the ClientHello of ${who}`}`,
    )
    return resolutions.start(key, hello, key === broadKey ? 'broad' : who)
  })
  resolutions.listen(arrived)
  const complete = await Promise.all(running)
  if (complete.includes(false)) return null
  // Synchronous work: a throw inside still becomes timed()'s rejection, since timed calls fn in its try.
  return await timed('plan', () => {
    const broad = resolutions.byHello.get(broadKey)!
    const plans: DevicePlan[] = []
    for (const d of input.devices) {
      const m = opened.get(d.label)
      if (!m) continue
      const own = resolutions.byHello.get(helloHash(helloOf(m.profile)))!
      const obs = new Map<string, TargetObservations>()
      for (const t of input.targets) obs.set(t.id, { device: own.get(t.id)!, broad: broad.get(t.id)! })
      const plan = planDevice(d.label, planModule(m.profile), input.targets, obs, input.anchors, input.store)
      // A trust-store CA lent to a lone must-reject target is in no observation: stored for the upload.
      for (const g of plan.groups) {
        if (!g.items.some((i) => i.borrowed)) continue
        const c = input.store.get(g.anchor.sha256)
        if (c) deps.observations.recordCertificate(c, deps.clock.now().toISOString())
      }
      feeds.get(d.label)?.finish(plan)
      plans.push(plan)
    }
    return Promise.resolve(plans)
  })
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
