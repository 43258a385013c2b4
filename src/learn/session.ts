import { familyOf } from '../families/index.js'
import type { Clock } from '../core/clock.js'
import {
  isDeviceError,
  ModuleStopped,
  recoverModule,
  watchedRequest,
  type CaUpload,
  type OpenedModule,
  type TranscriptEntry,
} from '../device/index.js'
import { linePattern, type FirmwareProfile } from '../profile/index.js'
import type { NotRun, PlanItem } from '../plan/index.js'
import type { AttemptRow, KeptConnection, RunStore } from '../store/index.js'
import type { ProbeCert, ProbeServe, ProbeServer, ServedConnection } from './lab/index.js'

/** One request of the module to the probe lab, with the server set up for it. */
export interface ProbeSpec {
  /** Stable id (the attempt's target): `--resume` replays a probe by it instead of asking again. */
  id: string
  /** What it varies, for people (kept with the attempt). */
  what: string
  /** The CA the module must hold for it; null: whatever is loaded (the probe does not reach trust). */
  ca: ProbeCert | null
  serve: ProbeServe | null
  host: string
  port: number
  path: string
  /** The module's clock for this probe alone (set before each try, this host's time again after). */
  clockAt?: Date
}

export type { KeptConnection }

export interface ProbeOutcome {
  id: string
  /** The final attempt's id; null only for a probe never sent (stopped before it). */
  attemptId: number | null
  /** `not-run`: two tries without a complete answer (the link, a restart). */
  outcome: 'pass' | 'fail' | 'not-run'
  lines: string[]
  /** The lines that say why it failed: without informational lines and without a generic final line. */
  errorLines: string[]
  httpStatus: number | null
  connections: KeptConnection[]
  replayed: boolean
}

export interface UploadOutcome {
  id: string
  attemptId: number | null
  accepted: boolean
  /** Payload bytes the upload put on the line (DER or PEM, as the dialect stores it). */
  bytes: number
  lines: string[]
}

/** The probe's earlier verdict in this run (a resumed learn), with its evidence. */
export type PriorProbe = Pick<AttemptRow, 'id' | 'outcome' | 'lines' | 'httpStatus' | 'probe'>

/** The device-time budget is spent: what is not measured yet stays unknown. */
export class BudgetSpent extends Error {}

export interface SessionDeps {
  module: OpenedModule
  server: ProbeServer
  runs: RunStore
  runId: string
  label: string
  clock: Clock
  stopping: () => boolean
  /** The profile whose grammar separates informational lines from the ones that say why. */
  base: FirmwareProfile
  prior: ReadonlyMap<string, PriorProbe>
  budgetMs: number | null
  onProbe?: (p: ProbeOutcome | UploadOutcome, what: string) => void
  onRecover?: (why: string) => void
}

interface Loaded {
  ca: ProbeCert
  evidence: CaUpload
}

/**
 * The module side of learning: every request and upload goes through here, is recorded as an
 * attempt as soon as it ends, and is asked again once after a link fault with the module put
 * back in a known state (reset, clock, the CA reloaded). A second fault is `not-run`: learn never
 * takes a damaged or partial answer for what the module does.
 */
export class ProbeSession {
  uploads = 0
  requests = 0
  deviceMs = 0
  private loaded: Loaded | null = null
  /** Informational templates (the base's) seen in a passing response: only those lines are not the why. */
  private readonly passTemplates = new Set<string>()
  private readonly reboots: { known: number }

  constructor(private readonly d: SessionDeps) {
    this.reboots = { known: d.module.driver.reboots() }
  }

  private get driver() {
    return this.d.module.driver
  }

  /** Clock and console set, the store emptied: the state every learn starts from. */
  async start(): Promise<void> {
    await this.timed(async () => {
      try {
        await this.driver.prepare(this.d.clock.now())
        await this.driver.clean()
      } catch (err) {
        if (!isDeviceError(err)) throw err
        await this.recover(`prepare: ${err.code}`, null)
      }
    })
  }

  /** Device time left in the budget (ms), null without a budget. */
  budgetLeftMs(): number | null {
    return this.d.budgetMs === null ? null : Math.max(0, this.d.budgetMs - this.deviceMs)
  }

  private go(): void {
    if (this.d.stopping()) throw new ModuleStopped()
    if (this.d.budgetMs !== null && this.deviceMs >= this.d.budgetMs) throw new BudgetSpent()
  }

  private async timed<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = this.d.clock.monotonic()
    try {
      return await fn()
    } finally {
      this.deviceMs += this.d.clock.monotonic() - t0
    }
  }

  private async recover(why: string, ca: ProbeCert | null): Promise<void> {
    this.d.onRecover?.(why)
    await recoverModule(this.driver, why, {
      stopping: this.d.stopping,
      now: () => this.d.clock.now(),
      upload: ca ? () => this.load(ca) : null,
      onClean: () => {
        this.loaded = null
      },
      onRetry: (detail) => this.d.onRecover?.(detail),
      reboots: this.reboots,
    })
  }

  private async load(ca: ProbeCert): Promise<void> {
    this.loaded = null
    const up = await this.driver.uploadCa(ca.der)
    this.uploads++
    this.loaded = { ca, evidence: { command: up.command, ski: up.ski, lines: up.lines } }
  }

  /** Makes `ca` the module's one CA; a refusal is the module's answer about that CA (its lines). */
  async ensureCa(ca: ProbeCert): Promise<{ ok: true } | { ok: false; lines: string[] }> {
    if (this.loaded?.ca.sha256 === ca.sha256 && this.driver.reboots() === this.reboots.known) return { ok: true }
    this.go()
    return await this.timed(async () => {
      try {
        await this.load(ca)
        return { ok: true as const }
      } catch (err) {
        // Larger than the upload command can carry: refused before anything was sent.
        if (isDeviceError(err, 'CA_TOO_LARGE')) return { ok: false as const, lines: [] }
        if (isDeviceError(err, 'AT_ERROR')) {
          // A complete ERROR answer: the module refused this CA. The payload it did not take may
          // have been read as commands: resynchronise before anything else.
          await this.driver.resync(this.d.stopping).catch(async () => await this.recover('after a refused CA', null))
          return { ok: false as const, lines: [...err.lines] }
        }
        if (!isDeviceError(err)) throw err
        await this.recover(`upload: ${err.code}`, ca)
        return { ok: true as const }
      }
    })
  }

  /** An upload whose acceptance is the measurement (the store's size): recorded as an attempt. */
  async tryUpload(id: string, what: string, ca: ProbeCert): Promise<UploadOutcome> {
    const bytes = familyOf(this.d.module.identity.dialect).caUploadBytes(ca.der)
    const prior = this.d.prior.get(id)
    if (prior) {
      const u = { id, attemptId: prior.id, accepted: prior.outcome === 'pass', bytes, lines: prior.lines }
      this.d.onProbe?.(u, what)
      return u
    }
    const res = await this.ensureCa(ca)
    const lines = res.ok ? (this.loaded?.evidence.lines ?? []) : res.lines
    const attemptId = this.record(
      { id, what, ca, serve: null, host: '-', port: 0, path: '-' },
      {
        try: 1,
        final: true,
        outcome: res.ok ? 'pass' : 'fail',
        reason: null,
        lines,
        httpStatus: null,
        bodyBytes: 0,
        durationMs: 0,
        transcript: [],
      },
      [],
    )
    const u = { id, attemptId, accepted: res.ok, bytes, lines }
    this.d.onProbe?.(u, what)
    return u
  }

  /** One probe: the server set, the CA loaded, the module asked; replayed when a resumed run has it. */
  async request(p: ProbeSpec): Promise<ProbeOutcome> {
    const prior = this.d.prior.get(p.id)
    if (prior) {
      // Its evidence was checked where it was read (the store's attempts.probe schema).
      const kept = prior.probe?.connections ?? []
      if (prior.outcome === 'pass') this.notePass(prior.lines)
      const o: ProbeOutcome = {
        id: p.id,
        attemptId: prior.id,
        outcome: prior.outcome,
        lines: prior.lines,
        errorLines: this.errorLines(prior.lines),
        httpStatus: prior.httpStatus,
        connections: kept,
        replayed: true,
      }
      this.d.onProbe?.(o, p.what)
      return o
    }
    for (let tryNo = 1; ; tryNo++) {
      this.go()
      if (p.ca) {
        const res = await this.ensureCa(p.ca)
        if (!res.ok) throw new Error(`the module refused the probe CA ${p.ca.subject}: ${res.lines.join(' / ')}`)
      }
      if (this.driver.reboots() !== this.reboots.known)
        await this.timed(() => this.recover('the module restarted', p.ca ?? this.loaded?.ca ?? null))
      if (p.serve) this.d.server.serve(p.serve)
      else this.d.server.connections()
      // A recovery sets the clock to now: the probe's own time is set again before every try.
      if (p.clockAt) await this.setClock(p.clockAt, p.ca)
      const a = await this.timed(() => watchedRequest(this.driver, { host: p.host, port: p.port, path: p.path }))
      if (p.clockAt) await this.setClock(this.d.clock.now(), p.ca)
      this.requests++
      const connections = this.d.server.connections().map(keep)
      const fault = a.fault === 'link'
      const outcome: ProbeOutcome['outcome'] = !fault ? a.outcome : tryNo >= 2 ? 'not-run' : 'fail'
      const reason: NotRun | null = fault ? { reason: 'link', detail: a.deviceError ?? '' } : null
      const attemptId = this.record(
        p,
        {
          try: tryNo,
          final: !fault || tryNo >= 2,
          outcome,
          reason,
          lines: a.lines,
          httpStatus: a.httpStatus,
          bodyBytes: a.bodyBytes,
          durationMs: a.durationMs,
          transcript: a.transcript,
        },
        connections,
      )
      if (!fault || tryNo >= 2) {
        if (fault) await this.timed(() => this.recover(a.deviceError ?? 'no answer', this.loaded?.ca ?? null))
        if (outcome === 'pass') this.notePass(a.lines)
        const o: ProbeOutcome = {
          id: p.id,
          attemptId,
          outcome,
          lines: a.lines,
          errorLines: this.errorLines(a.lines),
          httpStatus: a.httpStatus,
          connections,
          replayed: false,
        }
        this.d.onProbe?.(o, p.what)
        return o
      }
      await this.timed(() => this.recover(a.deviceError ?? 'no answer', p.ca ?? this.loaded?.ca ?? null))
    }
  }

  /** The module's clock (the driver's prepare); a link fault on the way recovers, which sets it to now. */
  private async setClock(at: Date, ca: ProbeCert | null): Promise<void> {
    await this.timed(async () => {
      try {
        await this.driver.prepare(at)
      } catch (err) {
        if (!isDeviceError(err)) throw err
        await this.recover(`setting the clock: ${err.code}`, ca ?? this.loaded?.ca ?? null)
        await this.driver.prepare(at)
      }
    })
  }

  private record(
    p: ProbeSpec,
    a: {
      try: number
      final: boolean
      outcome: 'pass' | 'fail' | 'not-run'
      reason: NotRun | null
      lines: string[]
      httpStatus: number | null
      bodyBytes: number
      durationMs: number
      transcript: TranscriptEntry[]
    },
    connections: KeptConnection[],
  ): number {
    const id = this.d.module.identity
    const item: PlanItem = {
      target: p.id,
      host: p.host,
      port: p.port,
      path: p.path,
      expect: null,
      observationId: null,
      skip: null,
      anchor: p.ca
        ? {
            sha256: p.ca.sha256,
            subject: p.ca.subject,
            source: 'store',
            kind: 'root',
            uploadBytes: familyOf(id.dialect).caUploadBytes(p.ca.der),
          }
        : null,
    }
    return this.d.runs.recordAttempt({
      runId: this.d.runId,
      device: this.d.label,
      module: id.module,
      firmware: id.firmware,
      profile: this.d.base.id,
      item,
      try: a.try,
      final: a.final,
      outcome: a.outcome,
      class: null,
      reason: a.reason,
      upload: p.ca && this.loaded ? this.loaded.evidence : null,
      lines: a.lines,
      httpStatus: a.httpStatus,
      bodyBytes: a.bodyBytes,
      durationMs: a.durationMs,
      transcript: a.transcript,
      recordedAt: this.d.clock.now().toISOString(),
      note: p.what,
      probe: { connections },
    })
  }

  private notePass(lines: readonly string[]): void {
    const g = this.d.base.responses
    for (const l of lines)
      for (const t of [...g.info, ...g.final]) if (linePattern(t).test(l)) this.passTemplates.add(t)
  }

  /**
   * The lines that say why: the informational and final lines a passing response printed too are
   * dropped (so `+ERRNO:0x8` stays even where the grammar admits it as information, and an `OK` of an
   * earlier step goes while a bare `ERROR` stays), then the generic final line when other lines
   * remain (`AT-S.ERROR:111:Request failed` after the error lines).
   */
  errorLines(lines: readonly string[]): string[] {
    const g = this.d.base.responses
    const matches = (l: string, ts: Iterable<string>) => [...ts].some((t) => linePattern(t).test(l))
    const out = lines.filter((l) => !matches(l, this.passTemplates))
    if (out.length > 1 && matches(out[out.length - 1]!, g.final)) out.pop()
    return out
  }
}

function keep(c: ServedConnection): KeptConnection {
  if (!c.hello) return { ...c, hello: null }
  const { raw, ...hello } = c.hello
  return { ...c, hello: { ...hello, rawHex: raw.toString('hex') } }
}
