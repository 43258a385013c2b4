import { realpathSync, statSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { DeviceError } from '../errors.js'
import { parseDeviceUrl, type DeviceUrl } from './url.js'

/**
 * Checks a device URL against the machine before any work starts, so a typo is a usage error
 * (exit 2) rather than a device "lost" after targets were resolved and a run created. Nothing
 * is opened: a serial port is only looked at (opening one can reset the board behind it). An
 * `emu:` URL's profile is checked by `profileExists`, which the caller that knows profiles gives.
 */
export async function checkDeviceUrl(
  url: string,
  opts: {
    cwd: string
    profileDirs: readonly string[]
    profileExists(idOrPath: string, dirs: readonly string[]): Promise<unknown>
  },
): Promise<DeviceUrl> {
  const u = parseDeviceUrl(url)
  if (u.kind === 'emu') {
    try {
      await opts.profileExists(
        u.profile.endsWith('.json') ? resolvePath(opts.cwd, u.profile) : u.profile,
        opts.profileDirs,
      )
    } catch (err) {
      throw new DeviceError('TRANSPORT_INVALID', `"${url}": ${(err as Error).message}`, { cause: err })
    }
  } else if (u.kind === 'serial') {
    const why = serialPathProblem(u.path)
    if (why) throw new DeviceError('TRANSPORT_INVALID', `"${url}": ${why}`)
  }
  return u
}

const SERIAL_NAMES: Partial<Record<NodeJS.Platform, RegExp>> = {
  // ttyS, ttyUSB, ttyACM, ttyAMA, ttyO…; i.MX ttymxc; Bluetooth rfcomm; pseudo-terminals.
  linux: /^\/dev\/(tty[A-Z][A-Za-z0-9_]*|ttymxc\d+|rfcomm\d+|pts\/\d+)$/,
  darwin: /^\/dev\/((cu|tty)\..+|ttys\d+)$/,
}
const SERIAL_EXAMPLES: Partial<Record<NodeJS.Platform, string>> = {
  linux: '/dev/ttyUSB0, /dev/ttyACM0, /dev/ttyS0, /dev/serial/by-id/…, /dev/rfcomm0 or a pseudo-terminal /dev/pts/N',
  darwin: '/dev/cu.usbmodem…, /dev/tty.usbserial… or a pseudo-terminal /dev/ttysN',
}

function serialPathProblem(path: string): string | null {
  if (process.platform === 'win32') return null
  let st
  try {
    st = statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? `${path} does not exist (is the module plugged in? ls /dev/tty*)`
      : `${path}: ${(err as Error).message}`
  }
  if (!st.isCharacterDevice()) return `${path} is not a serial port (not a character device)`
  // The controlling terminal (/dev/tty), consoles and /dev/null are character devices too: the
  // device the name resolves to must be named like a serial port. Pseudo-terminals stay allowed
  // (emulators and socat bridges appear as them).
  let real = path
  try {
    real = realpathSync(path)
  } catch {
    /* stat succeeded; keep the name given */
  }
  const named = SERIAL_NAMES[process.platform]
  if (named && !named.test(real))
    return `${path}${real !== path ? ` (${real})` : ''} is not a serial port (expected ${SERIAL_EXAMPLES[process.platform]})`
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
  return /\/tty\//.test(node)
    ? null
    : `${path} is not a serial port (it is the ${node.split('/').slice(-2).join('/')} device)`
}
