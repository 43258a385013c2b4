import { createHash, randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { linkSync, mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeviceError } from './errors.js'
import { parseDeviceUrl } from './transport/url.js'

export interface LockHolder {
  pid: number
  host: string
  runId: string
  startedAt: string
  url: string
  /** Makes every lock file's content unique, so a stale one is told apart from a fresh one. */
  token: string
}

/**
 * Machine-wide, because the thing locked is: two checkouts or two databases can point at one
 * serial port or serial server. Only real devices are locked; an emulator is private to its run.
 */
export const LOCK_DIR = join(tmpdir(), 'tlsmatrix-locks')

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
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null
  } catch {
    return null
  }
}

/** Creates `file` with its whole content in one step, only if it does not exist (link is atomic). */
function createOnce(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(tmp, content, { mode: 0o644 })
  try {
    linkSync(tmp, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      /* gone */
    }
  }
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

/**
 * Takes a real device for one run. A second run on the same device, however its URL is spelled,
 * is refused with the holder named; a lock left by a process that no longer exists (kill -9) is
 * taken over, atomically. Returns the release function.
 */
export async function lockDevice(
  url: string,
  runId: string,
  dir = LOCK_DIR,
  resolve?: (host: string) => Promise<string[]>,
): Promise<() => void> {
  // An emulator the run starts is its own: nothing to share, so nothing machine-wide to take.
  if (parseDeviceUrl(url).kind === 'emu') return () => {}
  mkdirSync(dir, { recursive: true })
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
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
    if (err instanceof Busy) {
      const h = err.holder
      throw new DeviceError(
        'DEVICE_BUSY',
        `${url} is in use by run ${h.runId} (pid ${h.pid}, started ${h.startedAt}${h.url !== url ? `, as ${h.url}` : ''}); wait for it or stop it`,
      )
    }
    throw err
  }
  return release
}
