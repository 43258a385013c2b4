import { readFile } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { DEFAULT_HELLO, toNodeHello, type HelloProfile } from '../chain/index.js'
import { AppError } from '../core/errors.js'

const LIST_KEYS = ['versions', 'cipherSuites', 'groups', 'signatureAlgorithms'] as const
const KEYS: readonly string[] = [...LIST_KEYS, 'sni']
const MAX_HELLO_BYTES = 64 * 1024

/**
 * Checks a `--hello` document: every problem (unknown keys, wrong types) at once, naming each,
 * so a typo such as "cipherSuite" is not silently the library default.
 */
export function parseHelloProfile(raw: unknown, source: string): HelloProfile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AppError('HELLO_INVALID', `${source}: expected a JSON object with ${KEYS.join(', ')}`)
  const problems: string[] = []
  const obj = raw as Record<string, unknown>
  for (const key of Object.keys(obj))
    if (!KEYS.includes(key)) problems.push(`unknown key "${key}" (known: ${KEYS.join(', ')})`)
  const hello: HelloProfile = { ...DEFAULT_HELLO }
  for (const key of LIST_KEYS) {
    const v = obj[key]
    if (v === undefined) continue
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) problems.push(`"${key}" must be a list of strings`)
    // An empty list is the library default (README), for versions as for the other lists.
    else if (v.length > 0) (hello[key] as string[]) = v
  }
  if (obj.sni !== undefined) {
    if (typeof obj.sni !== 'boolean') problems.push('"sni" must be true or false')
    else hello.sni = obj.sni
  }
  if (problems.length > 0) throw new AppError('HELLO_INVALID', `${source}: ${problems.join('; ')}`)
  try {
    toNodeHello(hello) // names and combinations, checked by the TLS library now, before any connection
  } catch (err) {
    throw new AppError('HELLO_INVALID', `${source}: ${(err as Error).message}`)
  }
  return hello
}

export async function readHelloFile(file: string | undefined, sni: boolean, cwd: string): Promise<HelloProfile> {
  let hello: HelloProfile = { ...DEFAULT_HELLO }
  if (file) {
    const source = `--hello ${file}`
    let text: string
    try {
      const buf = await readFile(resolvePath(cwd, file))
      if (buf.length > MAX_HELLO_BYTES)
        throw new AppError(
          'HELLO_INVALID',
          `${source}: ${buf.length} bytes; a hello profile is at most ${MAX_HELLO_BYTES}`,
        )
      text = buf.toString('utf8').replace(/^\uFEFF/, '')
    } catch (err) {
      if (err instanceof AppError) throw err
      throw new AppError('HELLO_INVALID', `${source}: ${(err as Error).message}`)
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (err) {
      throw new AppError('HELLO_INVALID', `${source}: not JSON (${(err as Error).message})`)
    }
    hello = parseHelloProfile(raw, source)
  }
  if (!sni) hello.sni = false
  return hello
}
