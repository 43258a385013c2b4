import { createHash, randomBytes } from 'node:crypto'
import { DEFAULT_AIA, DEFAULT_HELLO, Resolver, type CertCache, type HelloProfile, type Observation, type TrustStore } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import { messageOf } from '../core/errors.js'
import { helloOf, lockDevice, openModule, type OpenedModule } from '../device/index.js'
import type { ResolveMap, Target } from '../hosts/index.js'
import { planDevice, type AnchorMode, type DevicePlan, type TargetObservations } from '../plan/index.js'
import { helloHash, type ObservationStore, type RunDevice, type RunRow, type RunStore } from '../store/index.js'
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
  resolveMap: ResolveMap
  store: TrustStore
  cache: CertCache
  aiaAllowPrivate: boolean
  anchors: AnchorMode
  label: string | null
  concurrency: number
  timeoutMs: number
  /** How long a device may take for one HTTPS request before the link is presumed dead. */
  deviceTimeoutMs: number
  toolVersion: string
  /** Options to keep with the run, so --resume can repeat them. */
  options: Record<string, unknown>
  /** The run to finish, for --resume. */
  resume: RunRow | null
}

export interface SurveyDeps {
  observations: ObservationStore
  runs: RunStore
  clock: Clock
  stopping: () => boolean
  observer?: SurveyObserver
  onPhase?: (text: string) => void
}

export interface SurveyResult {
  runId: string
  status: RunRow['status']
  devices: RunDevice[]
  results: Map<string, WorkerResult>
}

export function newRunId(clock: Clock): string {
  return `${clock.now().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(2).toString('hex')}`
}

/**
 * The survey: lock and identify every device, resolve every target once per distinct
 * ClientHello, plan each device's work, then run the devices in parallel, one worker each.
 */
export async function runSurvey(input: SurveyInput, deps: SurveyDeps): Promise<SurveyResult> {
  const runId = input.resume?.id ?? newRunId(deps.clock)
  const unlocks: Array<() => void> = []
  const opened = new Map<string, OpenedModule>()
  try {
    // An emulator a run starts is its own and private to it: only real devices are shared.
    for (const d of input.devices) if (!d.url.startsWith('emu:')) unlocks.push(await lockDevice(d.url, runId))
    deps.onPhase?.(`run ${runId}: opening ${input.devices.length} device(s)`)
    const devices: RunDevice[] = await Promise.all(input.devices.map(async (d): Promise<RunDevice> => {
      try {
        const m = await openModule(d.url, { resolve: input.resolveEntries, profileDirs: input.profileDirs, timeouts: { httpMs: input.deviceTimeoutMs } })
        opened.set(d.label, m)
        return { label: d.label, url: d.url, module: m.identity.module, firmware: m.identity.firmware, build: m.identity.build, profile: m.profile.id, warning: m.profileWarning, lost: null }
      } catch (err) {
        return { label: d.label, url: d.url, module: null, firmware: null, build: null, profile: null, warning: null, lost: `cannot open: ${messageOf(err)}` }
      }
    }))
    for (const d of devices) if (d.warning) deps.onPhase?.(`${d.label}: ${d.warning}`)
    let plan = input.resume?.plan ?? null
    if (!input.resume) {
      deps.runs.createRun({
        id: runId, label: input.label, startedAt: deps.clock.now().toISOString(), endedAt: null, status: 'running', toolVersion: input.toolVersion,
        hostsFile: input.hostsFile, hostsHash: sha(input.hostsText), trustStoreHash: input.store.hash(), devices, options: input.options, plan: null,
      })
    } else {
      deps.runs.updateRun(runId, { status: 'running', devices })
    }
    // A device that could not be opened when the run began is planned when it comes back.
    const unplanned = input.devices.filter((d) => opened.has(d.label) && !plan?.some((p) => p.device === d.label))
    if (!plan || unplanned.length > 0) {
      const fresh = await resolveAndPlan({ ...input, devices: plan ? unplanned : input.devices }, deps, opened)
      plan = [...(plan ?? []), ...fresh]
      deps.runs.updateRun(runId, { plan })
    }
    const results = new Map<string, WorkerResult>()
    await Promise.all(input.devices.map(async (d) => {
      const m = opened.get(d.label)
      const devicePlan = plan!.find((p) => p.device === d.label)
      if (!m || !devicePlan) {
        results.set(d.label, { status: 'lost', lostReason: devices.find((x) => x.label === d.label)?.lost ?? 'no plan for this device', uploads: 0, attempts: 0 })
        return
      }
      results.set(d.label, await runDevice({ label: d.label, module: m, plan: devicePlan, runId, runs: deps.runs, clock: deps.clock, stopping: deps.stopping, ...(deps.observer ? { observer: deps.observer } : {}) }))
    }))
    for (const d of devices) {
      const r = results.get(d.label)
      if (r?.status === 'lost') d.lost = r.lostReason
      d.uploads = r?.uploads ?? 0
      d.requests = r?.attempts ?? 0
    }
    const all = [...results.values()]
    const status: RunRow['status'] = all.some((r) => r.status === 'interrupted') ? 'interrupted' : all.some((r) => r.status === 'lost') ? 'device-lost' : 'complete'
    deps.runs.updateRun(runId, { status, endedAt: deps.clock.now().toISOString(), devices })
    return { runId, status, devices, results }
  } finally {
    await Promise.all([...opened.values()].map((m) => m.transport.close().catch(() => undefined)))
    for (const u of unlocks) u()
  }
}

/** Resolves each target with the broad hello and with each distinct device hello, then plans. */
async function resolveAndPlan(input: SurveyInput, deps: SurveyDeps, opened: Map<string, OpenedModule>): Promise<DevicePlan[]> {
  const broadKey = helloHash(DEFAULT_HELLO)
  const hellos = new Map<string, HelloProfile>([[broadKey, DEFAULT_HELLO]])
  const users = new Map<string, string[]>([[broadKey, []]])
  for (const [label, m] of [...opened].filter(([l]) => input.devices.some((d) => d.label === l))) {
    const key = helloHash(helloOf(m.profile))
    hellos.set(key, helloOf(m.profile))
    users.set(key, [...(users.get(key) ?? []), label])
  }
  const byHello = new Map<string, Map<string, { obs: Observation; id: number | null }>>()
  for (const [key, hello] of hellos) {
    const who = users.get(key)!.join(', ')
    deps.onPhase?.(`resolving ${input.targets.length} target(s) with ${key === broadKey ? `the broad ClientHello${who ? ` (also ${who}'s)` : ''}` : `the ClientHello of ${who}`}`)
    const resolver = new Resolver({
      store: input.store, cache: input.cache, hello, timeoutMs: input.timeoutMs, resolveMap: input.resolveMap, clock: deps.clock,
      aia: { ...DEFAULT_AIA, allowPrivate: input.aiaAllowPrivate },
    })
    const ids = new Map<string, { obs: Observation; id: number | null }>()
    const batch = await resolveBatch(input.targets, resolver, {
      concurrency: input.concurrency,
      clock: deps.clock,
      record: (o) => { ids.set(o.target, { obs: o, id: deps.observations.record(o, hello) }) },
    })
    for (const o of batch.observations) if (!ids.has(o.target)) ids.set(o.target, { obs: o, id: null })
    byHello.set(key, ids)
  }
  const broad = byHello.get(broadKey)!
  const plans: DevicePlan[] = []
  for (const d of input.devices) {
    const m = opened.get(d.label)
    if (!m) continue
    const own = byHello.get(helloHash(helloOf(m.profile)))!
    const obs = new Map<string, TargetObservations>()
    for (const t of input.targets) obs.set(t.id, { device: own.get(t.id)!, broad: broad.get(t.id)! })
    plans.push(planDevice(d.label, m.profile, input.targets, obs, input.anchors))
  }
  return plans
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
