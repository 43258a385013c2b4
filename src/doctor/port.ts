import { DeviceError, isDeviceError } from '../device/errors.js'
import { checkDeviceUrl } from '../families/index.js'
import { openSerial } from '../device/transport/serial.js'
import type { Transport } from '../device/transport/transport.js'
import type { DeviceUrl } from '../device/transport/url.js'
import { fail, ok, type Step } from '../device/doctor-step.js'

/** Whether the port is there at all (nothing is opened: opening a port can reset the board). */
export async function portPresent(
  url: string,
  u: DeviceUrl,
  cwd: string,
  profileDirs: readonly string[],
): Promise<Step> {
  if (u.kind !== 'serial')
    return ok(
      'port',
      u.kind === 'emu' ? 'emu: the tool starts its own emulator' : `${u.host}:${u.port} (a serial server)`,
    )
  try {
    await checkDeviceUrl(url, { cwd, profileDirs })
  } catch (err) {
    if (!isDeviceError(err, 'TRANSPORT_INVALID')) throw err
    const gone = /does not exist/.test(err.message)
    return fail(
      'port',
      err.message.replace(/^"[^"]*": /, ''),
      gone
        ? 'plug the module in (and power it); `ls /dev/serial/by-id/` names USB serial adapters'
        : "give the module's serial port: /dev/ttyUSB0, /dev/ttyACM0 or /dev/serial/by-id/…",
    )
  }
  return ok('port', `${u.path} exists`)
}

/** Why a port would not open, and the fix, from the system's own words. */
export function openFailure(path: string, err: unknown): { detail: string; fix: string } {
  const msg = (err as Error).message
  if (/EACCES|permission denied/i.test(msg)) {
    return process.platform === 'linux'
      ? {
          detail: `${path}: permission denied`,
          fix: 'sudo usermod -aG dialout $USER, then log out and in again (the group is read at login)',
        }
      : { detail: `${path}: permission denied`, fix: `give your user read/write access to ${path}` }
  }
  if (/cannot lock port|resource temporarily unavailable|EBUSY|EAGAIN/i.test(msg)) {
    return {
      detail: `${path}: another program has the port open`,
      fix: `close it (a terminal such as screen/minicom, ModemManager); \`fuser -v ${path}\` names it`,
    }
  }
  return { detail: msg, fix: "check the cable and that the port is the module's" }
}

/** Opens a serial port at one speed; the failure as a step. */
export async function openAt(
  path: string,
  baudRate: number,
  rtscts: boolean,
): Promise<{ transport: Transport } | { step: Step }> {
  try {
    return { transport: await openSerial({ path, baudRate, rtscts }) }
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err
    const f = openFailure(path, err.cause ?? err)
    return { step: fail('port', f.detail, f.fix) }
  }
}
