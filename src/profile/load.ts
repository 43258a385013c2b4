import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { dataPath } from '../core/paths.js'
import { AppError } from '../core/errors.js'
import { isMissing, keysAt, pathText } from '../core/schema-text.js'
import { PROFILE, type FirmwareProfile } from './schema.js'

export const BUILTIN_PROFILE_DIR = dataPath('firmware')

/**
 * What loading a profile needs to know of the module families, which sit above this layer and
 * give it (src/families): the dialects, their modules, and each one's own fields and checks.
 */
export interface DialectRules {
  /** The profile's `dialect` value, e.g. `spwf04`. */
  readonly dialect: string
  /** The `module` values a profile of this dialect may name. */
  readonly modules: readonly string[]
  /**
   * The block this dialect's profiles add to the common fields (ESP-AT's `esp`), and its schema:
   * `.optional()` when a profile may leave it out. Only this family's profiles may hold it.
   */
  readonly profileBlock?: { readonly key: string; readonly schema: z.ZodType }
  /** Checks across fields once every field holds (a size its store cannot take): one message per problem. */
  validate?(profile: FirmwareProfile): string[]
}

/** Plain functions, not methods (no `this`): they are destructured and passed around on their own. */
export interface ProfileLoader {
  loadProfile: (idOrPath: string, dirs?: readonly string[]) => Promise<FirmwareProfile>
  loadAllProfiles: (dirs?: readonly string[]) => Promise<FirmwareProfile[]>
  /**
   * Reads and validates every profile a run may pick, when it starts: a stray or broken file in
   * --profiles is a usage error naming the file, not a device "lost" after resolution.
   */
  checkProfileDirs: (dirs: readonly string[]) => Promise<void>
  validateProfile: (raw: unknown, source: string) => FirmwareProfile
}

/** Profile loading for these dialects (the list is read at each call: a dialect registered later counts). */
export function profileLoader(dialects: readonly DialectRules[]): ProfileLoader {
  const rules: Rules = {
    dialects,
    find: (d) => dialects.find((f) => f.dialect === d),
    forModule: (m) => dialects.find((f) => f.modules.includes(m)),
  }
  const load = (file: string) => readProfile(file, rules)
  const loadAllProfiles = (dirs: readonly string[] = []) => loadAll(dirs, load)
  return {
    loadProfile: (idOrPath, dirs = []) => loadOne(idOrPath, dirs, load),
    loadAllProfiles,
    checkProfileDirs: async (dirs) => {
      await loadAllProfiles(dirs)
    },
    validateProfile: (raw, source) => validate(raw, source, rules),
  }
}

interface Rules {
  dialects: readonly DialectRules[]
  find(dialect: string): DialectRules | undefined
  forModule(module: string): DialectRules | undefined
}

/** Loads a profile by id (from the given directories, then the built-in ones) or by file path. */
async function loadOne(
  idOrPath: string,
  dirs: readonly string[],
  readProfile: (file: string) => Promise<FirmwareProfile>,
): Promise<FirmwareProfile> {
  if (idOrPath.endsWith('.json')) return await readProfile(idOrPath)
  if (!/^[A-Za-z0-9._-]+$/.test(idOrPath))
    throw new AppError('PROFILE_INVALID', `profile id "${idOrPath}" is not a file name`)
  for (const dir of [...dirs, BUILTIN_PROFILE_DIR]) {
    try {
      return await readProfile(join(dir, `${idOrPath}.json`))
    } catch (err) {
      if ((err as AppError).code !== 'PROFILE_NOT_FOUND') throw err
    }
  }
  throw new AppError(
    'PROFILE_NOT_FOUND',
    `no firmware profile "${idOrPath}" in ${[...dirs, BUILTIN_PROFILE_DIR].join(', ')}`,
  )
}

async function loadAll(
  dirs: readonly string[],
  readProfile: (file: string) => Promise<FirmwareProfile>,
): Promise<FirmwareProfile[]> {
  const out: FirmwareProfile[] = []
  for (const dir of [...dirs, BUILTIN_PROFILE_DIR]) {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      throw new AppError(
        'PROFILE_INVALID',
        `--profiles ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : (err as Error).message}`,
      )
    }
    for (const f of names.filter((n) => n.endsWith('.json')).sort()) out.push(await readProfile(join(dir, f)))
  }
  return out
}

async function readProfile(file: string, rules: Rules): Promise<FirmwareProfile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new AppError(
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'PROFILE_NOT_FOUND' : 'PROFILE_INVALID',
      `${file}: ${(err as Error).message}`,
    )
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new AppError(
      'PROFILE_INVALID',
      `${file}: ${text.trim() === '' ? 'the file is empty' : `not JSON (${(err as Error).message})`}`,
    )
  }
  return validate(raw, file, rules)
}

function validate(raw: unknown, source: string, rules: Rules): FirmwareProfile {
  // Which family's block the profile may hold depends on its dialect, read before the rest.
  const dialect: unknown = typeof raw === 'object' && raw !== null ? Reflect.get(raw, 'dialect') : undefined
  const family = typeof dialect === 'string' ? rules.find(dialect) : undefined
  const schema = loaderSchema(rules, family)
  const parsed = schema.safeParse(raw)
  if (!parsed.success)
    throw invalid(
      source,
      parsed.error.issues.flatMap((i) => problemText(i, schema)),
    )
  const p = parsed.data
  // Across fields, once each holds: the module is its family's, and the family's own checks.
  const problems: string[] = []
  if (family && !family.modules.includes(p.module))
    problems.push(
      `module ${p.module} is not a ${family.dialect} module (${family.dialect}: ${family.modules.join(', ')})`,
    )
  if (family && problems.length === 0) problems.push(...(family.validate?.(p) ?? []))
  if (problems.length > 0) throw invalid(source, problems)
  return p
}

function invalid(source: string, problems: readonly string[]): AppError {
  return new AppError('PROFILE_INVALID', `${source}: ${problems.join('; ')}`)
}

/**
 * The profile schema as loading checks it: the common fields (./schema.ts), the names the
 * registered families give (`module`, `dialect`), and the dialect's own block, which only its
 * family's profiles may hold.
 */
function loaderSchema(rules: Rules, family: DialectRules | undefined) {
  const modules = rules.dialects.flatMap((f) => f.modules)
  const block = family?.profileBlock
  return PROFILE.extend({
    module: z.string().refine((m) => rules.forModule(m) !== undefined, `must be ${oneOf(modules)}`),
    dialect: z
      .string()
      .refine((d) => rules.find(d) !== undefined, `must be one of ${rules.dialects.map((f) => f.dialect).join(', ')}`),
    ...(block ? { [block.key]: block.schema } : {}),
  })
}

/** Keys of a fixed set that are not fields, by what they are (`errors` maps failure classes). */
const KEY_KINDS: Readonly<Record<string, string>> = { errors: 'failure class' }
/** The common blocks: a misspelt key there could be a remark, which goes in `notes`. */
const COMMON_BLOCKS = new Set(Object.keys(PROFILE.shape))

/**
 * One issue as the message lists it, naming the JSON path: `store.caSlots must be …`,
 * `errors.untrusted[0]: a template of …`, `unknown field tls."checkValidty" (tls has …)`.
 */
function problemText(issue: z.core.$ZodIssue, schema: z.ZodType): string[] {
  const where = pathText(issue.path)
  if (!where && issue.code === 'invalid_type') return ['not a JSON object (a profile is { id, module, firmware, … })']
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(schema, issue.path)
    if (!allowed) return issue.keys.map((k) => `${where}: unknown ${KEY_KINDS[where] ?? 'key'} ${JSON.stringify(k)}`)
    const remark = issue.path.length === 0 || COMMON_BLOCKS.has(String(issue.path[0])) ? '; a remark goes in notes' : ''
    return issue.keys.map(
      (k) =>
        `unknown field ${where ? `${where}.` : ''}${JSON.stringify(k)} (${where ? `${where} has` : 'a profile has'} ${allowed.join(', ')}${remark})`,
    )
  }
  const message = isMissing(issue) ? 'is missing' : issue.message
  if (!where) return [message]
  return [`${where}${/^(must|is) /.test(message) ? ' ' : ': '}${message}`]
}

/** `A or B`, `A, B or C`: the registered names, as a message lists them. */
function oneOf(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '(none registered)') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`
}
