import { randomBytes } from 'node:crypto'
import type { AtChannel } from '../../device/at/channel.js'
import { atField, atPath, atPort } from '../../device/at/fields.js'
import { DeviceError, isDeviceError } from '../../device/errors.js'
import { outsideGrammar } from '../../profile/classify.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import { SPWF04_FRAMING } from './framing.js'
import { spwf04Extras } from './profile.js'
import {
  DEFAULT_TIMEOUTS,
  deviceAttempt,
  epochSeconds,
  expectOk,
  failedAttempt,
  passedAttempt,
  readVariable,
  rebootCounter,
  resetAndResync,
  resync,
  type DriverTimeouts,
  type SyncProbe,
} from '../../device/drivers/common.js'
import type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from '../../device/drivers/driver.js'

const STATUS = /^AT-S\.Http Server Status Code:(\d+)$/
/** HTTPGET fields: host as a DNS name; the module's own field limits are not published. */
const MAX_HOST = 253
const MAX_PATH = 96

/** Tries of the resynchronisation after HTTPGET (each with a new value) before it is a link fault. */
const SETTLE_TRIES = 3

/**
 * SPWF04SA driver: `AT-S.OK` / `AT-S.ERROR:<code>:<text>` dialect (AT reference §1-§8).
 *
 * AT+S.HTTPGET prints the server's body in-band, between the module's status line and its final
 * line, and nothing frames it: a body can hold `AT-S.OK`, which ends the answer as read while the
 * rest of the body is still on the line. So after every HTTPGET the driver gives the module a
 * fresh random value and reads it back (`settle`), and sets aside everything before the module's
 * echo of it; and the verdict rests on the lines the module printed before the body (the status
 * line and what precedes it), never on the line that ended the answer. The alternative, the
 * length-framed sockets (SOCKON/SOCKR, which SPWF04 also has with TLS), would judge every target by
 * other lines than the ones the public logs and the profiles know: see docs/spwf.md.
 */
export class Spwf04Driver implements ModuleDriver {
  readonly reboots: () => number
  private readonly syncVariable: string
  private syncChecked = false

  constructor(
    private readonly channel: AtChannel,
    readonly identity: Identity,
    private readonly profile: FirmwareProfile,
    private readonly monotonic: () => number,
    private readonly timeouts: DriverTimeouts = DEFAULT_TIMEOUTS,
  ) {
    channel.setFraming(SPWF04_FRAMING)
    this.reboots = rebootCounter(channel, (line) => SPWF04_FRAMING.isReboot(line))
    this.syncVariable = spwf04Extras(profile).syncVariable
  }

  /** A new random value to set and read back: its echo is a line no server can have written. */
  private syncProbe(): SyncProbe & { value: string; set: string } {
    const value = `t${randomBytes(8).toString('hex')}`
    const set = `AT+S.SCFG=${this.syncVariable},${value}`
    return {
      value,
      set,
      before: [set],
      command: `AT+S.GCFG=${this.syncVariable}`,
      line: new RegExp(`^AT-S\\.Var:${this.syncVariable}=${value}$`),
    }
  }

  static async identify(channel: AtChannel, timeoutMs: number): Promise<Identity> {
    channel.setFraming(SPWF04_FRAMING)
    const fw = await readVariable(channel, 'AT+S.STS=fw_version', /^AT-S\.Var:fw_version=(\d+\.\d+\.\d+)/, timeoutMs)
    // Older firmware may not expose the build variable; the version is what matters.
    const build = await readVariable(channel, 'AT+S.STS=build', /^AT-S\.Var:build=(.+)$/, timeoutMs).catch(() => null)
    return { module: 'SPWF04SA', firmware: fw, build, dialect: 'spwf04' }
  }

  async prepare(now: Date): Promise<void> {
    await expectOk(this.channel, 'AT+S.SCFG=console_errs,2', this.timeouts.commandMs)
    await expectOk(this.channel, 'AT+S.SCFG=console_echo,0', this.timeouts.commandMs)
    await expectOk(this.channel, `AT+S.TIME=${epochSeconds(now)}`, this.timeouts.commandMs)
    if (!this.syncChecked) await this.checkSync()
  }

  /**
   * Once, on a quiet line (no body can be on it here): the module takes the resynchronisation
   * value and gives it back unchanged, or the survey stops here saying why, instead of every
   * request ending as a link fault.
   */
  private async checkSync(): Promise<void> {
    const probe = this.syncProbe()
    const why = `tlsmatrix sets ${this.syncVariable} and reads it back after every HTTPGET (docs/spwf.md); a profile's spwf04.syncVariable can name another variable`
    try {
      await expectOk(this.channel, probe.set, this.timeouts.commandMs)
    } catch (err) {
      if (isDeviceError(err, 'AT_ERROR')) throw new DeviceError('AT_ERROR', `${err.message}: ${why}`, { cause: err })
      throw err
    }
    const pattern = new RegExp(`^AT-S\\.Var:${this.syncVariable}=(.*)$`)
    const got = await readVariable(this.channel, probe.command, pattern, this.timeouts.commandMs)
    if (got !== probe.value)
      throw new DeviceError(
        'AT_GARBAGE',
        `${probe.command} gave ${got === null ? 'no value' : JSON.stringify(got)} for ${probe.value}: ${why}`,
      )
    this.syncChecked = true
  }

  /**
   * After every HTTPGET: the answer read may have ended at a line of the server's body, with the
   * rest of the body and the module's own final line still to come. The module is given a fresh
   * random value and asked for it back, and every line before its echo is set aside (returned).
   * The wait follows the bytes: it ends only after a silence of a plain command's time-out, or
   * after the device time-out in all; a module that never echoes the value is a link fault.
   */
  private async settle(): Promise<string[]> {
    const aside = this.channel.takeStray()
    const started = this.monotonic()
    const left = () => Math.max(1, this.timeouts.httpMs - (this.monotonic() - started))
    for (let i = 1; ; i++) {
      const probe = this.syncProbe()
      try {
        const quiet = { quietMs: this.timeouts.commandMs }
        const set = await this.channel.exec(probe.set, { timeoutMs: left(), ...quiet })
        // Its own answer is a bare AT-S.OK; anything else answering it came before it.
        if (!set.ok || set.lines.length > 0) aside.push(...set.lines, set.final)
        const r = await this.channel.exec(probe.command, {
          timeoutMs: left(),
          ...quiet,
          accept: (a) => a.ok && a.lines.some((l) => probe.line.test(l)),
        })
        aside.push(...r.setAside, ...this.channel.takeStray())
        return aside
      } catch (err) {
        if (
          !isDeviceError(err, 'AT_TIMEOUT') ||
          i >= SETTLE_TRIES ||
          this.monotonic() - started >= this.timeouts.httpMs
        )
          throw isDeviceError(err) ? err.withLines(aside) : err
        this.channel.resync()
      }
    }
  }

  async clean(): Promise<void> {
    await expectOk(this.channel, 'AT+S.TLSCERT=content,2', this.timeouts.commandMs)
  }

  async uploadCa(der: Buffer): Promise<CaUpload> {
    if (der.length === 0 || der.length > this.profile.store.maxCaBytes) {
      throw new DeviceError(
        'CA_TOO_LARGE',
        `CA of ${der.length} bytes does not fit the module's ${this.profile.store.maxCaBytes}-byte slot`,
      )
    }
    const command = `AT+S.TLSCERT=ca,${der.length}`
    const lines = await expectOk(this.channel, command, this.timeouts.commandMs + Math.ceil(der.length / 10), der)
    const ski = /^AT-S\.SubjectKeyId:([0-9A-Fa-f:]+)$/.exec(
      lines.find((l) => l.startsWith('AT-S.SubjectKeyId:')) ?? '',
    )?.[1]
    // A damaged answer is not evidence of what the module stored.
    if (!ski && !lines.includes('AT-S.No SubjectKeyId'))
      throw new DeviceError('AT_GARBAGE', `${command}: no SubjectKeyId line in ${JSON.stringify(lines).slice(0, 120)}`)
    return { command, ski: ski ? ski.replace(/:/g, '').toLowerCase() : null, lines }
  }

  async httpsGet(req: HttpsRequest): Promise<Attempt> {
    const cmd = `AT+S.HTTPGET=${atField('host', req.host, { max: MAX_HOST })},${atPath(req.path, MAX_PATH)},${atPort(req.port)},2,,,,`
    // This request's record starts here, with a cap of its own.
    const mark = this.channel.transcript.begin()
    const started = this.monotonic()
    try {
      const r = await this.channel.exec(cmd, {
        timeoutMs: this.timeouts.httpMs,
        bodyAfter: (l) => Number(STATUS.exec(l)?.[1] ?? 999) < 400,
      })
      const lines = [...r.lines, r.final]
      const aside = await this.settle().catch((err: unknown) => {
        throw isDeviceError(err) ? err.withLines([...lines, ...err.lines]) : err
      })
      // Nothing of the server's is printed before the status line: the lines up to it are the
      // module's. After it may come the body, and the line that ended the answer may be the body's.
      const at = r.lines.findIndex((l) => STATUS.test(l))
      if (aside.length > 0)
        this.channel.note(
          `the answer went on after ${JSON.stringify(r.final)}: ${aside.length} line(s) set aside until the module echoed the resync value (${JSON.stringify(aside.slice(0, 4)).slice(0, 240)}${aside.length > 4 ? ' …' : ''})${at >= 0 ? '; a body can hold lines like the module’s, so the verdict rests on the module’s lines before the body' : ''}`,
        )
      const done = () => ({
        lines,
        bodyBytes: r.bodyBytes,
        durationMs: Math.round(this.monotonic() - started),
        transcript: this.channel.transcript.since(mark),
      })
      if (at < 0) {
        if (!r.ok) return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark)
        return passedAttempt({ ...done(), httpStatus: null }, this.profile)
      }
      const status = Number(STATUS.exec(r.lines[at]!)![1])
      const why = outsideGrammar(r.lines.slice(0, at + 1), this.profile)
      if (why)
        return {
          ...done(),
          httpStatus: status,
          outcome: 'fail',
          class: 'device',
          deviceError: `AT_DAMAGED: ${why}`,
          fault: 'link',
        }
      // The TLS session held and the server answered: a pass, whatever line ended the body.
      if (status < 400)
        return { ...done(), httpStatus: status, outcome: 'pass', class: null, deviceError: null, fault: null }
      // The server's own answer, an HTTP error (the module's status line says which).
      return {
        ...done(),
        httpStatus: status,
        bodyBytes: 0,
        outcome: 'fail',
        class: 'http',
        deviceError: null,
        fault: null,
      }
    } catch (err) {
      return deviceAttempt(err, started, this.monotonic(), this.channel, mark)
    }
  }

  async reset(stop?: () => boolean): Promise<void> {
    // The resync value, not a fixed line: a body left on the line by the request that failed can
    // hold a boot banner, AT-S.OK and any fixed answer.
    await resetAndResync(
      this.channel,
      'AT+S.RESET',
      /^\+WIND:0:Console active/,
      this.timeouts,
      () => this.syncProbe(),
      stop,
    )
  }

  async resync(stop?: () => boolean): Promise<void> {
    await resync(this.channel, () => this.syncProbe(), this.timeouts, stop)
  }

  async close(): Promise<void> {}
}
