import { realpathSync, statSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { DeviceError } from '../errors.js'
import { loadProfile } from '../profile/load.js'
import { parseDeviceUrl, type DeviceUrl } from './url.js'

/**
 * Checks a device URL against the machine before any work starts, so a typo is a usage error
 * (exit 2) rather than a device "lost" after targets were resolved and a run created. Nothing
 * is opened: a serial port is only looked at (opening one can reset the board behind it).
 */
export async function checkDeviceUrl(url: string, opts: { cwd: string; profileDirs: readonly string[] }): Promise<DeviceUrl> {
  const u = parseDeviceUrl(url)
  if (u.kind === 'emu') {
    try {
      await loadProfile(u.profile.endsWith('.json') ? resolvePath(opts.cwd, u.profile) : u.profile, opts.profileDirs)
    } catch (err) {
      throw new DeviceError('TRANSPORT_INVALID', `"${url}": ${(err as Error).message}`, { cause: err })
    }
  } else if (u.kind === 'serial') {
    const why = serialPathProblem(u.path)
    if (why) throw new DeviceError('TRANSPORT_INVALID', `"${url}": ${why}`)
  }
  return u
}

function serialPathProblem(path: string): string | null {
  if (process.platform === 'win32') return null
  let st
  try {
    st = statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? `${path} does not exist (is the module plugged in? ls /dev/tty*)` : `${path}: ${(err as Error).message}`
  }
  if (!st.isCharacterDevice()) return `${path} is not a serial port (not a character device)`
  // Linux names every device class in sysfs; a character device outside the tty class
  // (/dev/null, /dev/zero, /dev/random) is not a serial port. Pseudo-terminals have no entry.
  const major = Math.floor(st.rdev / 256) & 0xfff
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)
  let node: string
  try {
    node = realpathSync(`/sys/dev/char/${major}:${minor}`)
  } catch {
    return null
  }
  return /\/tty\//.test(node) ? null : `${path} is not a serial port (it is the ${node.split('/').slice(-2).join('/')} device)`
}
