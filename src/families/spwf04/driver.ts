import type { AtChannel } from '../../device/at/channel.js'
import { SPWF04_FRAMING } from './framing.js'
import { atField, atPath, atPort } from '../../device/at/fields.js'
import { DeviceError } from '../../device/errors.js'
import type { FirmwareProfile } from '../../profile/profile.js'
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
} from '../../device/drivers/common.js'
import type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from '../../device/drivers/driver.js'

/** Its answer carries a line no other command's does (see resync in common.ts). */
const SYNC_PROBE = { command: 'AT+S.STS=fw_version', line: /^AT-S\.Var:fw_version=/ }

const STATUS = /^AT-S\.Http Server Status Code:(\d+)$/
/** HTTPGET fields: host as a DNS name; the module's own field limits are not published. */
const MAX_HOST = 253
const MAX_PATH = 96

/** SPWF04SA driver: `AT-S.OK` / `AT-S.ERROR:<code>:<text>` dialect (AT reference §1-§8). */
export class Spwf04Driver implements ModuleDriver {
  readonly reboots: () => number

  constructor(
    private readonly channel: AtChannel,
    readonly identity: Identity,
    private readonly profile: FirmwareProfile,
    private readonly monotonic: () => number,
    private readonly timeouts: DriverTimeouts = DEFAULT_TIMEOUTS,
  ) {
    channel.setFraming(SPWF04_FRAMING)
    this.reboots = rebootCounter(channel, SPWF04_FRAMING.isReboot)
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
    const mark = this.channel.transcript.length
    const started = this.monotonic()
    try {
      const r = await this.channel.exec(cmd, {
        timeoutMs: this.timeouts.httpMs,
        bodyAfter: (l) => Number(STATUS.exec(l)?.[1] ?? 999) < 400,
      })
      const lines = [...r.lines, r.final]
      const status = Number(r.lines.map((l) => STATUS.exec(l)?.[1]).find((s) => s !== undefined) ?? NaN)
      const httpStatus = Number.isFinite(status) ? status : null
      if (!r.ok) return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark, httpStatus)
      return passedAttempt(
        {
          lines,
          httpStatus,
          bodyBytes: r.bodyBytes,
          durationMs: Math.round(this.monotonic() - started),
          transcript: this.channel.transcript.since(mark),
        },
        this.profile,
      )
    } catch (err) {
      return deviceAttempt(err, started, this.monotonic(), this.channel, mark)
    }
  }

  async reset(stop?: () => boolean): Promise<void> {
    await resetAndResync(this.channel, 'AT+S.RESET', /^\+WIND:0:Console active/, this.timeouts, SYNC_PROBE, stop)
  }

  async resync(stop?: () => boolean): Promise<void> {
    await resync(this.channel, SYNC_PROBE, this.timeouts, stop)
  }

  async close(): Promise<void> {}
}
