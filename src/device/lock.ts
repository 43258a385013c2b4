import { createHash } from 'node:crypto'
import { mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeSync, closeSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeviceError } from './errors.js'
import { parseDeviceUrl } from './transport/url.js'

export interface LockHolder {
  pid: number
  host: string
  runId: string
  startedAt: string
  url: string
}

/** Machine-wide, because two databases can still point at one serial port. */
export const LOCK_DIR = join(tmpdir(), 'tlsmatrix-locks')

/** The identity of a device for locking: the real path of a serial port, else the URL. */
function lockName(url: string): string {
  const u = parseDeviceUrl(url)
  let key = url
  if (u.kind === 'serial') {
    try {
      key = realpathSync(u.path)
    } catch {
      key = u.path
    }
  } else if (u.kind === 'tcp') key = `tcp://${u.host}:${u.port}`
  return createHash('sha256').update(key).digest('hex').slice(0, 24)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes a device for one run. A second run on the same device is refused with the holder named;
 * a lock left by a process that no longer exists (kill -9) is taken over.
 */
export function lockDevice(url: string, runId: string, dir = LOCK_DIR): () => void {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${lockName(url)}.lock`)
  const me: LockHolder = { pid: process.pid, host: hostname(), runId, startedAt: new Date().toISOString(), url }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644)
      writeSync(fd, JSON.stringify(me))
      closeSync(fd)
      return () => {
        try {
          const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder
          if (holder.pid === me.pid && holder.runId === runId) rmSync(file)
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let holder: LockHolder | null = null
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder
      } catch {
        holder = null
      }
      if (holder && holder.host === me.host && alive(holder.pid)) {
        throw new DeviceError('DEVICE_BUSY', `${url} is in use by run ${holder.runId} (pid ${holder.pid}, started ${holder.startedAt}); wait for it or stop it`)
      }
      rmSync(file, { force: true })
    }
  }
  throw new DeviceError('DEVICE_BUSY', `${url}: could not take the device lock in ${dir}`)
}
