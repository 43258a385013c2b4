import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { AppError } from '../../core/errors.js'
import { FAIL_ON, REPORT_FORMATS, type FailOn, type ReportFormat } from '../../report/formats.js'

const selector = z
  .string()
  .regex(
    /^(previous-run|this-run|run:\S+|[^@\s]+@[^@\s]+)$/,
    'expected previous-run, this-run, run:RUN_ID or MODULE@FIRMWARE',
  )

/**
 * A run spec: everything a scheduled job needs, so a cron line or CI step stays one short command.
 * Strict: an unknown key is a mistake (a typo would silently change a nightly job).
 */
const RunSpecSchema = z.strictObject({
  hosts: z.string().min(1),
  devices: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({
          url: z.string().min(1),
          label: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,40}$/)
            .optional(),
        }),
      ]),
    )
    .min(1),
  profiles: z.array(z.string().min(1)).optional(),
  anchors: z.string().optional(),
  label: z.string().max(200).optional(),
  rig: z
    .string()
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/, 'expected 1 to 64 printable ASCII characters (as --rig)')
    .optional(),
  db: z.string().min(1).optional(),
  trustStore: z.array(z.string().min(1)).optional(),
  trustStoreOnly: z.boolean().optional(),
  aiaAllowPrivate: z.boolean().optional(),
  resolve: z.array(z.string()).optional(),
  connectTo: z.array(z.string()).optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  deviceTimeoutMs: z.number().int().min(500).max(600_000).optional(),
  /** Device time each device may spend on attempts; the rest is recorded as not run (`budget`). */
  deviceBudgetMinutes: z
    .number()
    .min(0)
    .max(7 * 24 * 60)
    .optional(),
  /** Delete runs older than `days` after each run; the latest complete run of each firmware is kept forever. */
  retention: z.strictObject({ days: z.number().int().min(1).max(36_500) }).optional(),
  report: z
    .strictObject({
      dir: z.string().min(1),
      formats: z.array(z.enum(REPORT_FORMATS)).min(1).optional(),
      failOn: z.enum(FAIL_ON).optional(),
      baseline: selector.optional(),
      candidate: selector.optional(),
      expiryDays: z.number().int().min(0).max(36_500).optional(),
    })
    .optional(),
})

export type RunSpec = z.infer<typeof RunSpecSchema>

/** The spec's report part, with paths resolved. */
export interface SpecReport {
  dir: string
  formats: ReportFormat[]
  failOn: FailOn
  baseline: string | null
  candidate: string | null
  expiryDays: number
}

/** A spec is a few hundred bytes; anything far larger (or a device such as /dev/zero) is a mistake, refused before it is read into memory. */
export const MAX_SPEC_BYTES = 1024 * 1024

/** Reads a JSON or YAML run spec; every problem is reported with its JSON path (exit 2). */
export async function readRunSpec(file: string, cwd: string): Promise<{ spec: RunSpec; path: string }> {
  const path = resolvePath(cwd, file)
  let text: string
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new AppError('USAGE', `--spec ${path}: not a regular file`)
    if (info.size > MAX_SPEC_BYTES)
      throw new AppError('USAGE', `--spec ${path}: too large (${info.size} bytes, at most ${MAX_SPEC_BYTES})`)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof AppError) throw err
    throw new AppError(
      'USAGE',
      `--spec ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    )
  }
  let raw: unknown
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text)
  } catch (err) {
    throw new AppError(
      'USAGE',
      `--spec ${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
      { cause: err },
    )
  }
  const parsed = RunSpecSchema.safeParse(raw)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${path}: ${i.path.length ? `$.${i.path.join('.')}` : '$'}: ${i.message}`,
    )
    throw new AppError('USAGE', `invalid run spec:\n${problems.join('\n')}`)
  }
  return { spec: parsed.data, path }
}

/** Paths in a spec are relative to the spec's own folder, so a job runs the same from any directory. */
export function specPaths(spec: RunSpec, specPath: string): RunSpec {
  const base = dirname(specPath)
  const p = (x: string) => resolvePath(base, x)
  return {
    ...spec,
    hosts: p(spec.hosts),
    ...(spec.profiles ? { profiles: spec.profiles.map(p) } : {}),
    ...(spec.db ? { db: p(spec.db) } : {}),
    ...(spec.trustStore ? { trustStore: spec.trustStore.map(p) } : {}),
    ...(spec.report ? { report: { ...spec.report, dir: p(spec.report.dir) } } : {}),
  }
}
