import { readFile } from 'node:fs/promises'
import { basename, resolve as resolvePath } from 'node:path'
import { CertCache, loadTrustStore } from '../../chain/index.js'
import type { Clock } from '../../core/clock.js'
import { AppError, ExitError } from '../../core/errors.js'
import { termSafe } from '../../core/sanitize.js'
import { parseDeviceUrl } from '../../device/index.js'
import { parseResolveEntries, type Target } from '../../hosts/index.js'
import { runSurvey, type DeviceArg } from '../../pipeline/index.js'
import type { AnchorMode } from '../../plan/index.js'
import { buildMatrix, failuresText, matrixText } from '../../report/index.js'
import { ObservationStore, openDb, RunStore } from '../../store/index.js'
import type { Io } from '../io.js'
import { surveyProgress } from '../survey-progress.js'
import { VERSION } from '../version.js'
import { readTargets } from './resolve.js'

export interface RunOptions {
  hosts?: string
  device: string[]
  profiles: string[]
  anchors: AnchorMode
  label?: string
  db: string
  resume?: string
  resolve: string[]
  trustStore: string[]
  trustStoreOnly: boolean
  aiaAllowPrivate: boolean
  concurrency: number
  timeoutMs: number
  deviceTimeoutMs: number
  json: boolean
  /** What to tell the user when the run stops early (the demo's lab is gone by then). */
  stoppedHint?: string
}

/** `--device [LABEL=]URL`: the label names the column in reports; by default it comes from the URL. */
export function parseDeviceArgs(args: readonly string[]): DeviceArg[] {
  const out: DeviceArg[] = []
  for (const arg of args) {
    const m = /^([A-Za-z0-9_.-]{1,40})=(.+)$/.exec(arg)
    const url = m ? m[2]! : arg
    const u = parseDeviceUrl(url)
    let label = m ? m[1]! : u.kind === 'emu' ? basename(u.profile).replace(/\.json$/, '') : u.kind === 'tcp' ? `${u.host}:${u.port}` : basename(u.path)
    if (!m) for (let n = 2; out.some((d) => d.label === label); n++) label = `${label.replace(/#\d+$/, '')}#${n}`
    if (out.some((d) => d.label === label)) throw new AppError('USAGE', `--device label "${label}" is used twice`)
    out.push({ label, url })
  }
  return out
}

/** `tlsmatrix run`: exit 0 complete, 1 complete with expect= mismatches, 3 device lost or interrupted. */
export async function runCommand(opts: RunOptions, io: Io, clock: Clock): Promise<void> {
  const dbPath = resolvePath(io.cwd, opts.db)
  const db = openDb(dbPath)
  try {
    const runs = new RunStore(db, dbPath)
    const resume = opts.resume ? runs.getRun(opts.resume) : null
    if (opts.resume && !resume) throw new AppError('USAGE', `no run ${opts.resume} in ${dbPath}`)
    if (resume?.status === 'complete') throw new AppError('USAGE', `run ${resume.id} is already complete`)
    const o = resume ? { ...opts, ...(resume.options as Partial<RunOptions>), json: opts.json, db: opts.db } : opts
    if (!o.hosts) throw new AppError('USAGE', 'run needs --hosts FILE (or --resume RUN_ID)')
    if (o.device.length === 0) throw new AppError('USAGE', 'run needs at least one --device [LABEL=]URL')
    const devices = parseDeviceArgs(o.device)
    const hostsPath = resolvePath(io.cwd, o.hosts)
    const targets: Target[] = await readTargets(hostsPath, io)
    const hostsText = await readFile(hostsPath, 'utf8')
    const resolveMap = parseResolveEntries(o.resolve)
    const cache = new CertCache()
    const trustFiles = o.trustStore.map((f) => resolvePath(io.cwd, f))
    const store = await loadTrustStore({ files: trustFiles, only: o.trustStoreOnly }, cache)
    let stop = false
    void io.interrupted.then(() => {
      stop = true
      io.stderr.write('\nstopping: the attempts in flight finish, nothing new starts (Ctrl-C again does not hurry it)\n')
    })
    const p = surveyProgress(io)
    const result = await runSurvey({
      targets, hostsFile: hostsPath, hostsText, devices, profileDirs: o.profiles.map((d) => resolvePath(io.cwd, d)), resolveEntries: o.resolve, resolveMap,
      store, cache, aiaAllowPrivate: o.aiaAllowPrivate, anchors: o.anchors, label: o.label ?? null, concurrency: o.concurrency, timeoutMs: o.timeoutMs, deviceTimeoutMs: o.deviceTimeoutMs,
      toolVersion: VERSION, resume,
      options: { hosts: hostsPath, device: o.device, profiles: o.profiles.map((d) => resolvePath(io.cwd, d)), anchors: o.anchors, label: o.label, resolve: o.resolve, trustStore: trustFiles, trustStoreOnly: o.trustStoreOnly, aiaAllowPrivate: o.aiaAllowPrivate, concurrency: o.concurrency, timeoutMs: o.timeoutMs, deviceTimeoutMs: o.deviceTimeoutMs },
    }, { observations: new ObservationStore(db, dbPath), runs, clock, stopping: () => stop, observer: p, onPhase: p.phase })
    p.end()
    const attempts = runs.attempts(result.runId)
    const matrix = buildMatrix(result.devices, attempts, targets.map((t) => t.id))
    if (o.json) {
      io.stdout.write(`${JSON.stringify({
        runId: result.runId,
        status: result.status,
        devices: result.devices.map((d) => ({ label: d.label, url: d.url, module: d.module, firmware: d.firmware, build: d.build, profile: d.profile, warning: d.warning, lost: d.lost, uploads: d.uploads ?? 0, requests: d.requests ?? 0 })),
        attempts: attempts.map((a) => ({
          host: a.host, port: a.port, path: a.path, target: a.target, device: a.device, firmware: a.firmware, profile: a.profile,
          anchor: { sha256: a.anchorSha256, subject: a.anchorSubject, source: a.anchorSource }, try: a.try, final: a.final,
          outcome: a.final || a.outcome === 'not-run' ? a.outcome : 'retried', class: a.class, reason: a.reason, upload: a.upload, lines: a.lines, httpStatus: a.httpStatus, durationMs: a.durationMs, expect: a.expect,
        })),
        mismatches: matrix.mismatches,
      }, null, 2)}\n`)
    } else {
      io.stdout.write(`${matrixText(matrix)}\n`)
      const why = failuresText(attempts)
      if (why) io.stdout.write(`\nwhy:\n${why}\n`)
      const lost = result.devices.filter((d) => d.lost)
      for (const d of lost) io.stdout.write(`\ndevice ${termSafe(d.label)} lost: ${termSafe(d.lost ?? '')}\n`)
      io.stdout.write(`\nrun ${result.runId} ${result.status}: ${attempts.filter((a) => a.final).length} verdicts recorded in ${dbPath}\n`)
    }
    if (result.status !== 'complete') {
      io.stderr.write(`run ${result.runId} ${result.status}; ${opts.stoppedHint ?? `finish it with:\n  tlsmatrix run --resume ${result.runId} --db ${dbPath}`}\n`)
      throw new ExitError(3)
    }
    if (matrix.mismatches.length > 0) throw new ExitError(1)
  } finally {
    db.close()
  }
}
