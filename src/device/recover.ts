import { AppError, messageOf } from '../core/errors.js'
import type { Attempt, HttpsRequest, ModuleDriver } from './drivers/driver.js'
import { DeviceError, isDeviceError } from './errors.js'

/**
 * The module could not be put back in a known state: no verdict can come from it now. Not a
 * DeviceError: it is the end of recovery, not a fault for a caller to recover from again.
 */
export class ModuleLost extends AppError<'DEVICE_LOST'> {
  override name = 'ModuleLost'
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEVICE_LOST', message, options)
  }
}

/** The user asked to stop while the module was being recovered (or before the next step began). */
export class ModuleStopped extends AppError<'DEVICE_STOPPED'> {
  override name = 'ModuleStopped'
  constructor(message = 'stopped: the run is stopping') {
    super('DEVICE_STOPPED', message)
  }
}

/** Link faults a recovery absorbs (each failed step, redone after a resync) before the device is lost. */
export const RECOVERY_FAULTS = 12

export interface RecoverOptions {
  stopping: () => boolean
  now: () => Date
  /** Loads the CA the next request relies on; null leaves the store empty. */
  upload: (() => Promise<void>) | null
  /** Called when the store is emptied, so the caller forgets what it had loaded. */
  onClean?: () => void
  onRetry?: (detail: string) => void
  /** Restarts seen when the module was last in a known state; advanced by each reset. */
  reboots: { known: number }
}

/**
 * Puts the module back in a known state: reset, clock, empty store, the CA loaded. A flaky link
 * can eat the recovery's own commands too, so a step that fails is redone after a resync (no new
 * reset: each reset is seven more commands for the link to lose), a restart seen at any step
 * starts again from the reset, and the module is lost only after RECOVERY_FAULTS faults. A CA the
 * module refuses three times is lost too (ModuleLost with the AT_ERROR as cause): callers may
 * record it as a finding.
 */
export async function recoverModule(driver: ModuleDriver, why: string, o: RecoverOptions): Promise<void> {
  const steps: Array<[string, () => Promise<void>]> = [
    [
      'reset',
      async () => {
        await driver.reset(o.stopping)
        o.reboots.known = driver.reboots()
      },
    ],
    [
      'prepare',
      async () => {
        await driver.prepare(o.now())
      },
    ],
    [
      'clean',
      async () => {
        o.onClean?.()
        await driver.clean()
      },
    ],
    [
      'upload',
      async () => {
        if (o.upload) await o.upload()
      },
    ],
  ]
  let faults = 0
  let refusals = 0
  let last: unknown
  for (let step = 0; step < steps.length;) {
    if (o.stopping()) throw new ModuleStopped()
    const [name, run] = steps[step]!
    try {
      await run()
      // A restart during the later steps undid them: the clock is back at power-on.
      if (driver.reboots() !== o.reboots.known)
        throw new DeviceError('AT_REBOOTED', `the module restarted during ${name}`)
      step++
      continue
    } catch (err) {
      if (o.stopping() || isDeviceError(err, 'DEVICE_STOPPED')) throw new ModuleStopped()
      if (!isDeviceError(err)) throw err
      // The port itself is gone (the adapter unplugged, the module's process dead): nothing to wait for.
      if (isDeviceError(err, 'AT_CLOSED'))
        throw new ModuleLost(`the port closed while recovering from "${why}": ${messageOf(err)}`, { cause: err })
      last = err
      // The module answered ERROR to the CA itself, again and again: it refuses this CA.
      if (
        name === 'upload' &&
        (isDeviceError(err, 'AT_ERROR') || isDeviceError(err, 'CA_TOO_LARGE')) &&
        ++refusals >= 3
      ) {
        throw new ModuleLost(`the module refused the CA ${refusals} times: ${messageOf(err)}`, { cause: err })
      }
      if (++faults >= RECOVERY_FAULTS)
        throw new ModuleLost(`${faults} link faults while recovering from "${why}": ${messageOf(err)}`, { cause: err })
      // Which fault this is and the limit: a module that never answers shows how far it is from being given up.
      o.onRetry?.(
        `${why} (again: ${name} failed, fault ${faults} of ${RECOVERY_FAULTS} before the device is lost: ${messageOf(err)})`,
      )
    }
    if (step === 0) continue
    const restarted = driver.reboots() !== o.reboots.known || isDeviceError(last, 'AT_REBOOTED')
    try {
      await driver.resync(o.stopping)
      // A restart is a reset: the clock and the store are back at power-on, so from there.
      if (restarted) {
        o.reboots.known = driver.reboots()
        step = 1
      }
    } catch (err) {
      if (o.stopping() || isDeviceError(err, 'DEVICE_STOPPED')) throw new ModuleStopped()
      if (!isDeviceError(err)) throw err
      step = 0
    }
  }
}

/**
 * One HTTPS GET whose verdict stands only if the module did not restart while it ran: a restart
 * means its state (clock, CA) was not the one planned, so the answer is a link fault, not kept.
 */
export async function watchedRequest(driver: ModuleDriver, req: HttpsRequest): Promise<Attempt> {
  const before = driver.reboots()
  const a = await driver.httpsGet(req)
  if (driver.reboots() === before || a.fault) return a
  return {
    ...a,
    outcome: 'fail',
    class: 'device',
    fault: 'link',
    deviceError: `AT_REBOOTED: the module restarted during the request (${a.outcome}${a.class ? ` ${a.class}` : ''} not kept)`,
  }
}
