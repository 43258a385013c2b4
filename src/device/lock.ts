import { createHash, randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { lstatSync, mkdirSync, readFileSync, realpathSync, unlinkSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFileOnceSync } from '../core/atomic-write.js'
import { DeviceError } from './errors.js'
import { parseDeviceUrl } from './transport/url.js'

export interface LockHolder {
  pid: number
  host: string
  /** The user the holding process runs as, and its command line (absent in locks of older versions). */
  user?: string
  command?: string
  runId: string
  startedAt: string
  url: string
  /** Makes every lock file's content unique, so a stale one is told apart from a fresh one. */
  token: string
}

/** Overrides where locks live (tests give each run its own directory; a bench may share one). */
export const LOCK_DIR_ENV = 'TLSMATRIX_LOCK_DIR'

/**
 * Where this user's device locks live: $TLSMATRIX_LOCK_DIR, else $XDG_RUNTIME_DIR/tlsmatrix-locks
 * (a per-user directory the system makes private), else tlsmatrix-locks-<uid> in the temporary
 * directory. Per user, because a directory every user can write is one any of them can fill with
 * locks (blocking a device for good) or create first (so no one else can lock at all). Another
 * user's run on the same serial port is refused by the port's own exclusive open (flock, which
 * serialport takes on Linux and macOS), not by these files.
 */
export function lockDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[LOCK_DIR_ENV]) return env[LOCK_DIR_ENV]
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tlsmatrix-locks')
  const uid = process.getuid?.()
  return join(tmpdir(), uid === undefined ? 'tlsmatrix-locks' : `tlsmatrix-locks-${uid}`)
}

/**
 * Makes the lock directory if it is missing (mode 0700) and checks that it is one only this user
 * controls: a real directory (not a link), owned by this user, no access for group or others.
 * Anything else is LOCK_DIR_UNSAFE with what is wrong and what to do; nothing in it is trusted.
 */
export function secureLockDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new DeviceError(
      'LOCK_DIR_UNSAFE',
      `cannot create the device lock directory ${dir}: ${(err as Error).message}. Set ${LOCK_DIR_ENV} to a directory of your own`,
      { cause: err },
    )
  }
  const st = lstatSync(dir)
  const uid = process.getuid?.()
  const problems: string[] = []
  if (st.isSymbolicLink()) problems.push('it is a symbolic link')
  else if (!st.isDirectory()) problems.push('it is not a directory')
  if (uid !== undefined && st.uid !== uid) problems.push(`it belongs to uid ${st.uid}, not to you (uid ${uid})`)
  if (uid !== undefined && (st.mode & 0o077) !== 0)
    problems.push(`its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}: others can read or write it`)
  if (problems.length)
    throw new DeviceError(
      'LOCK_DIR_UNSAFE',
      `the device lock directory ${dir} cannot be trusted: ${problems.join('; ')}. Anyone who can write there can block a device or forge who holds it. Remove it (it is made again, private) or set ${LOCK_DIR_ENV} to a directory only you can write (mode 0700)`,
    )
}

/** The command line of this process, as a holder names it: the program and its arguments, one line. */
function commandLine(): string {
  const args = process.argv.slice(1).map((a, i) => (i === 0 ? a.split(/[\\/]/).pop()! : a))
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const CONTROL = /[\x00-\x1f\x7f]/g
  return args.join(' ').replace(CONTROL, ' ').slice(0, 200)
}

/** The user name, or the uid when the system has no name for it. */
function userName(): string {
  try {
    return userInfo().username
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`
  }
}

/** How long a lock stays "being taken over" before waiters give up (the taker needs microseconds). */
const ATTEMPTS = 50

/**
 * What a device URL is, however it is spelled: the real path of a serial port (so a
 * /dev/serial/by-id link and /dev/ttyUSB0 are one device), every address a TCP host name
 * resolves to (so localhost and 127.0.0.1 are one serial server).
 */
export async function deviceIdentities(
  url: string,
  resolve: (host: string) => Promise<string[]> = lookupAll,
): Promise<string[]> {
  const u = parseDeviceUrl(url)
  if (u.kind === 'serial') {
    try {
      return [`serial:${realpathSync(u.path)}`]
    } catch {
      return [`serial:${u.path}`]
    }
  }
  if (u.kind === 'tcp') {
    let addresses: string[]
    try {
      addresses = isIP(u.host) ? [u.host] : await resolve(u.host)
    } catch {
      // The run cannot reach it either; lock the name so two such runs still exclude each other.
      addresses = [u.host.toLowerCase()]
    }
    return [...new Set(addresses.map((a) => `tcp:${canonicalAddress(a)}:${u.port}`))].sort()
  }
  return [url]
}

async function lookupAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address)
}

/** ::ffff:127.0.0.1 (also written ::ffff:7f00:1, as URL parsing does) is 127.0.0.1; IPv6 in lower case. */
function canonicalAddress(a: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)
  if (dotted) return dotted[1]!
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(a)
  if (hex) {
    const hi = parseInt(hex[1]!, 16)
    const lo = parseInt(hex[2]!, 16)
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return a.toLowerCase()
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const h = JSON.parse(raw) as LockHolder
    return typeof h === 'object' &&
      h !== null &&
      Number.isSafeInteger(h.pid) &&
      h.pid > 0 &&
      typeof h.host === 'string' &&
      typeof h.runId === 'string' &&
      typeof h.startedAt === 'string' &&
      typeof h.url === 'string'
      ? h
      : null
  } catch {
    return null
  }
}

/** Creates `file` with its whole content in one step, only if it does not exist (link is atomic, and follows no link). */
function createOnce(file: string, content: string): boolean {
  return createFileOnceSync(file, content, { mode: 0o600 })
}

function removeIfSame(file: string, content: string): void {
  if (readOrNull(file) === content) {
    try {
      unlinkSync(file)
    } catch {
      /* gone */
    }
  }
}

class Busy extends Error {
  constructor(readonly holder: LockHolder) {
    super('busy')
  }
}

/**
 * Takes `file` for `content`. A lock whose holder is alive (same host) is refused with Busy. A
 * stale one is taken over under a guard lock named after the stale content, so of several takers
 * exactly one removes it (a second taker can never delete the first one's fresh lock, whose
 * content differs); the guard is itself a lock, so a taker that died holding it is taken over the
 * same way.
 */
async function acquire(file: string, me: LockHolder, depth: number): Promise<void> {
  const content = JSON.stringify(me)
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (createOnce(file, content)) return
    const raw = readOrNull(file)
    if (raw === null) continue
    const holder = parseHolder(raw)
    if (holder && holder.host === me.host && alive(holder.pid)) throw new Busy(holder)
    if (depth >= 3) break
    const guard = `${file}.takeover-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`
    try {
      await acquire(guard, me, depth + 1)
    } catch (err) {
      if (!(err instanceof Busy)) throw err
      // Another process is taking it over right now: look again in a moment.
      await sleep(5 + attempt)
      continue
    }
    try {
      removeIfSame(file, raw)
    } finally {
      removeIfSame(guard, content)
    }
  }
  throw new DeviceError('DEVICE_BUSY', `could not take the lock ${file}: it keeps changing hands`)
}

/** Who holds a lock, in one line: the run, the process, its user and command, since when. */
export function holderText(h: LockHolder, url: string): string {
  const user = typeof h.user === 'string' ? `user ${h.user.slice(0, 64)}, ` : ''
  const command = typeof h.command === 'string' ? `, command: ${h.command.slice(0, 200)}` : ''
  return `run ${h.runId} (pid ${h.pid}, ${user}since ${h.startedAt}${command}${h.url !== url ? `, as ${h.url}` : ''})`
}

/**
 * Takes a real device for one run. A second run on the same device, however its URL is spelled,
 * is refused with the holder named (run, pid, user, command, since when); a lock left by a
 * process that no longer exists (kill -9) is taken over, atomically. Locks live in the user's
 * private lock directory (lockDir, checked by secureLockDir). Returns the release function.
 */
export async function lockDevice(
  url: string,
  runId: string,
  dir = lockDir(),
  resolve?: (host: string) => Promise<string[]>,
): Promise<() => void> {
  // An emulator the run starts is its own: nothing to share, so nothing machine-wide to take.
  if (parseDeviceUrl(url).kind === 'emu') return () => {}
  secureLockDir(dir)
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: userName(),
    command: commandLine(),
    runId,
    startedAt: new Date().toISOString(),
    url,
    token: randomBytes(8).toString('hex'),
  }
  const content = JSON.stringify(me)
  const files: string[] = []
  const release = () => {
    for (const f of files) removeIfSame(f, content)
  }
  try {
    for (const id of await deviceIdentities(url, resolve)) {
      const file = join(dir, `${createHash('sha256').update(id).digest('hex').slice(0, 24)}.lock`)
      await acquire(file, me, 0)
      files.push(file)
    }
  } catch (err) {
    release()
    if (err instanceof Busy)
      throw new DeviceError('DEVICE_BUSY', `${url} is in use by ${holderText(err.holder, url)}; wait for it or stop it`)
    throw err
  }
  return release
}
