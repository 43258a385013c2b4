import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { TLS_VERSIONS, toNodeHello } from '../chain/index.js'
import { dataPath } from '../core/paths.js'
import { AppError } from '../core/errors.js'
import { templateProblem } from './classify.js'
import { FAILURE_CLASSES, helloOf, type FirmwareProfile } from './profile.js'

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
  /** Top-level blocks this dialect's profiles add to the common fields (e.g. ESP-AT's `esp`). */
  readonly profileKeys?: readonly string[]
  /** Dialect-specific checks, after the common ones: one message per problem. */
  validate(profile: FirmwareProfile): string[]
}

export interface ProfileLoader {
  loadProfile(idOrPath: string, dirs?: readonly string[]): Promise<FirmwareProfile>
  loadAllProfiles(dirs?: readonly string[]): Promise<FirmwareProfile[]>
  /**
   * Reads and validates every profile a run may pick, when it starts: a stray or broken file in
   * --profiles is a usage error naming the file, not a device "lost" after resolution.
   */
  checkProfileDirs(dirs: readonly string[]): Promise<void>
  validateProfile(raw: unknown, source: string): FirmwareProfile
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
  const p = raw as FirmwareProfile
  const problems: string[] = []
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what)
  }
  need(typeof p === 'object' && p !== null, 'not an object')
  if (problems.length === 0) {
    need(typeof p.id === 'string' && /^[A-Za-z0-9._-]+$/.test(p.id), 'id must be a file-name-safe string')
    const family = typeof p.dialect === 'string' ? rules.find(p.dialect) : undefined
    const modules = rules.dialects.flatMap((f) => f.modules)
    need(typeof p.module === 'string' && rules.forModule(p.module) !== undefined, `module must be ${oneOf(modules)}`)
    need(
      typeof p.firmware === 'string' && /^\d+\.\d+\.\d+$/.test(p.firmware),
      'firmware must be a version such as 1.1.0',
    )
    need(typeof p.build === 'string', 'build must be a string')
    need(family !== undefined, `dialect must be one of ${rules.dialects.map((f) => f.dialect).join(', ')}`)
    if (family && rules.forModule(p.module))
      need(
        family.modules.includes(p.module),
        `module ${p.module} is not a ${family.dialect} module (${family.dialect}: ${family.modules.join(', ')})`,
      )
    need(Array.isArray(p.notes) && p.notes.every((n) => typeof n === 'string'), 'notes must be a list of strings')
    const t = p.tls
    need(typeof t === 'object' && t !== null, 'tls is missing')
    if (t) {
      need(
        Array.isArray(t.versions) && t.versions.every((v) => TLS_VERSIONS.includes(v)),
        'tls.versions: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3',
      )
      try {
        toNodeHello(helloOf(p))
      } catch (err) {
        problems.push(`tls: ${(err as Error).message}`)
      }
      need(
        typeof t.certificateKeys?.rsa?.maxBits === 'number' && Array.isArray(t.certificateKeys?.ecdsa),
        'tls.certificateKeys needs rsa {minBits, maxBits} and ecdsa [curves]',
      )
      need(t.anchorMatch === 'ski-aki' || t.anchorMatch === 'path', 'tls.anchorMatch must be ski-aki or path')
    }
    need(typeof p.store?.maxCaBytes === 'number', 'store.maxCaBytes must be a number')
    need(
      Number.isInteger(p.store?.caSlots) && (p.store?.caSlots ?? 0) >= 1,
      'store.caSlots must be a whole number of 1 or more',
    )
    need(
      p.store?.caBundle === undefined || typeof p.store.caBundle === 'boolean',
      'store.caBundle must be true or false (one slot takes a PEM bundle of several CAs)',
    )
    const lineList = (v: unknown) =>
      Array.isArray(v) && v.every((l) => typeof l === 'string' && l !== '' && !/[\r\n]/.test(l))
    need(
      typeof p.responses === 'object' &&
        p.responses !== null &&
        lineList(p.responses.info) &&
        lineList(p.responses.final) &&
        p.responses.final.length > 0,
      'responses needs info [lines] and final [lines] (the grammar of a response)',
    )
    need(typeof p.errors === 'object' && p.errors !== null, 'errors must map failure classes to lines')
    for (const [cls, lines] of Object.entries(p.errors ?? {})) {
      need((FAILURE_CLASSES as readonly string[]).includes(cls), `errors: unknown failure class "${cls}"`)
      need(
        Array.isArray(lines) && lines.length > 0 && lines.every((l) => typeof l === 'string' && !/[\r\n]/.test(l)),
        `errors.${cls}: a non-empty list of single lines`,
      )
    }
    // Templates are matched in linear time, within a bound set by their length: refuse what the
    // matcher will not take, naming where it is.
    for (const [path, template] of templatesOf(p)) {
      const why = templateProblem(template)
      if (why) problems.push(`${path}: ${why}`)
    }
    // A misspelt field would otherwise be ignored and its default used: every key must be known.
    problems.push(...unknownKeys(p, [...COMMON_KEYS, ...(family?.profileKeys ?? [])]))
    // The family's own fields, once the common ones hold (it may rely on them).
    if (family && problems.length === 0) problems.push(...family.validate(p))
  }
  if (problems.length > 0) throw new AppError('PROFILE_INVALID', `${source}: ${problems.join('; ')}`)
  return p
}

/** Every template string of a profile with its JSON path (`responses.info[2]`, `errors.http[0]`). */
function templatesOf(p: FirmwareProfile): Array<[string, string]> {
  const out: Array<[string, string]> = []
  const add = (where: string, list: unknown) => {
    if (Array.isArray(list))
      list.forEach((t, i) => {
        if (typeof t === 'string') out.push([`${where}[${i}]`, t])
      })
  }
  if (typeof p.responses === 'object' && p.responses !== null) {
    add('responses.info', p.responses.info)
    add('responses.final', p.responses.final)
  }
  if (typeof p.errors === 'object' && p.errors !== null)
    for (const cls of FAILURE_CLASSES) if (Object.hasOwn(p.errors, cls)) add(`errors.${cls}`, p.errors[cls])
  return out
}

const COMMON_KEYS = [
  'id',
  'module',
  'firmware',
  'build',
  'dialect',
  'notes',
  'tls',
  'store',
  'responses',
  'errors',
  'learned',
] as const
const BLOCK_KEYS: Record<string, readonly string[]> = {
  tls: [
    'versions',
    'cipherSuites',
    'groups',
    'signatureAlgorithms',
    'sni',
    'certificateKeys',
    'certificateSignatureHashes',
    'maxCertificateBytes',
    'maxChainBytes',
    'anchorMatch',
    'checkValidity',
    'checkHostname',
  ],
  store: ['caSlots', 'maxCaBytes', 'caBundle'],
  responses: ['info', 'final'],
}

/** Keys no field has, at the top level (the family adds its blocks) and in the common blocks. */
export function unknownKeys(p: object, topLevel: readonly string[]): string[] {
  const problems: string[] = []
  const check = (obj: unknown, allowed: readonly string[], where: string) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k))
        problems.push(
          `unknown field ${where}${JSON.stringify(k)} (${where ? `${where.slice(0, -1)} has` : 'a profile has'} ${allowed.join(', ')}; a remark goes in notes)`,
        )
    }
  }
  check(p, topLevel, '')
  for (const [block, keys] of Object.entries(BLOCK_KEYS))
    check((p as Record<string, unknown>)[block], keys, `${block}.`)
  return problems
}

/** `A or B`, `A, B or C`: the registered names, as a message lists them. */
function oneOf(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '(none registered)') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`
}
