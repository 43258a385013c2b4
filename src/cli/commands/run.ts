import type { Clock } from '../../core/clock.js'
import { AppError } from '../../core/errors.js'
import { THIS_RUN } from '../../jobs/report.js'
import { surveyJob, type SurveyOptions } from '../../jobs/run.js'
import type { FailOn, ReportFormat } from '../../report/formats.js'
import { readRunSpec, specPaths } from '../input/run-spec.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { endSurvey, surveyWatch } from '../output/survey-text.js'

/** `tlsmatrix run`'s options, one field per flag (see cli/run.ts). */
export interface RunOptions {
  hosts?: string
  device: string[]
  profiles: string[]
  /** `all`, `first`, either with `,include-untrusted` (checked by the option's parser). */
  anchors: string
  label?: string
  rig?: string
  db: string
  resume?: string
  resolve: string[]
  connectTo: string[]
  trustStore: string[]
  trustStoreOnly: boolean
  aiaAllowPrivate: boolean
  concurrency: number
  timeoutMs: number
  deviceTimeoutMs: number
  force: boolean
  json: boolean
  report?: string
  reportFormat: ReportFormat[]
  failOn?: FailOn
  deviceBudgetMinutes?: number
  /** A run spec (JSON or YAML): every flag given on the command line overrides it. */
  spec?: string
  dryRun: boolean
}

/**
 * `tlsmatrix run`: exit 0 complete, 1 complete with expect= mismatches or a gate that holds, 2
 * usage, 3 device lost or interrupted. `given`: the long flags given on the command line (not
 * defaults), which a spec does not override and --resume refuses.
 */
export async function runCommand(opts: RunOptions, given: readonly string[], io: Io, clock: Clock): Promise<void> {
  const { json, spec, ...survey } = opts
  if (spec && survey.resume)
    throw new AppError('USAGE', '--spec starts a new run; --resume finishes one as it was started: give one of them')
  const job = forwardAll<SurveyOptions>()({ ...survey, given: [...given] })
  const voice = { json }
  endSurvey(await surveyJob(spec ? await withSpec(job, spec, io) : job, io, clock, surveyWatch(io, voice)), io, voice)
}

/** The options a spec gives, under every flag given on the command line. */
async function withSpec(opts: SurveyOptions, file: string, io: Io): Promise<SurveyOptions> {
  const { spec: raw, path } = await readRunSpec(file, io.cwd)
  const spec = specPaths(raw, path)
  const cli = new Set(opts.given ?? [])
  const take = <K extends keyof SurveyOptions>(
    flag: string,
    key: K,
    value: SurveyOptions[K] | undefined,
  ): Partial<SurveyOptions> => (cli.has(flag) || value === undefined ? {} : { [key]: value })
  const r = spec.report
  return {
    ...opts,
    ...take('--hosts', 'hosts', spec.hosts),
    ...take(
      '--device',
      'device',
      spec.devices.map((d) => (typeof d === 'string' ? d : d.label ? `${d.label}=${d.url}` : d.url)),
    ),
    ...take('--profiles', 'profiles', spec.profiles),
    ...take('--anchors', 'anchors', spec.anchors),
    ...take('--label', 'label', spec.label),
    ...take('--rig', 'rig', spec.rig),
    ...take('--db', 'db', spec.db),
    ...take('--trust-store', 'trustStore', spec.trustStore),
    ...take('--trust-store-only', 'trustStoreOnly', spec.trustStoreOnly),
    ...take('--aia-allow-private', 'aiaAllowPrivate', spec.aiaAllowPrivate),
    ...take('--resolve', 'resolve', spec.resolve),
    ...take('--connect-to', 'connectTo', spec.connectTo),
    ...take('--concurrency', 'concurrency', spec.concurrency),
    ...take('--timeout-ms', 'timeoutMs', spec.timeoutMs),
    ...take('--device-timeout-ms', 'deviceTimeoutMs', spec.deviceTimeoutMs),
    ...take('--report', 'report', r?.dir),
    ...take('--report-format', 'reportFormat', r?.formats),
    ...take('--fail-on', 'failOn', r?.failOn),
    ...(r?.baseline ? { reportDiff: { baseline: r.baseline, candidate: r.candidate ?? THIS_RUN } } : {}),
    ...(r?.expiryDays !== undefined ? { reportExpiryDays: r.expiryDays } : {}),
    ...(spec.retention ? { retentionDays: spec.retention.days } : {}),
    ...take('--device-budget-minutes', 'deviceBudgetMinutes', spec.deviceBudgetMinutes),
  }
}
