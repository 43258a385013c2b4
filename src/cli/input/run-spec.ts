import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { AppError } from '../../core/errors.js'
import type { FailOn, ReportFormat } from '../../report/formats.js'
import { RunSpecSchema, type RunSpec } from './run-spec-schema.js'

export type { RunSpec } from './run-spec-schema.js'

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
