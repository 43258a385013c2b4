import { toPem } from '../../chain/index.js'
import type { AtChannel } from '../../device/at/channel.js'
import { SPWF01_FRAMING } from './framing.js'
import { atField, atPath, atPort } from '../../device/at/fields.js'
import { DeviceError, isDeviceError } from '../../device/errors.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import { damage } from '../../profile/classify.js'
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
import { responseComplete } from '../../device/drivers/http.js'
import type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from '../../device/drivers/driver.js'

/** Its answer carries a line no other command's does (see resync in common.ts). */
const SYNC_PROBE = { command: 'AT+S.STS=version', line: /^#\s*version\s*=/ }

/** SPWF01 limits a command to 127 characters after "AT" (reference §12, [C]). */
const MAX_COMMAND = 129
/** Socket reads are capped like the mbed driver's 730-byte chunks (reference §1). */
const READ_CHUNK = 730
const MAX_RESPONSE = 256 * 1024

/** SPWF01SA driver: `OK` / `ERROR: <text>` dialect; HTTPS through a secure socket (reference §12). */
export class Spwf01Driver implements ModuleDriver {
  private closedSockets = new Set<string>()
  /** Pending Data and Socket Closed indications per socket, so a read knows something happened. */
  private socketEvents = new Map<string, number>()
  private socketWaiters: Array<() => void> = []
  readonly reboots: () => number

  constructor(
    private readonly channel: AtChannel,
    readonly identity: Identity,
    private readonly profile: FirmwareProfile,
    private readonly monotonic: () => number,
    private readonly timeouts: DriverTimeouts = DEFAULT_TIMEOUTS,
  ) {
    channel.setFraming(SPWF01_FRAMING)
    this.reboots = rebootCounter(channel, (line) => SPWF01_FRAMING.isReboot(line))
    channel.onWind((line) => {
      // Pending Data is `:<id>:<len>:<total>` (the reference notes an empty field before <id> in some builds).
      const data = /^\+WIND:55:Pending Data::?(\d+):/.exec(line)
      const closed = /^\+WIND:58:Socket Closed:(\d+)/.exec(line)
      const id = data?.[1] ?? closed?.[1]
      if (!id) return
      if (closed) this.closedSockets.add(id)
      this.socketEvents.set(id, (this.socketEvents.get(id) ?? 0) + 1)
      const w = this.socketWaiters
      this.socketWaiters = []
      for (const f of w) f()
    })
  }

  /** `AT+S.STS=version` prints `#  version = <yymmdd>-<hash>`; the profile's build maps it to a version. */
  static async identify(
    channel: AtChannel,
    timeoutMs: number,
    profiles: readonly FirmwareProfile[],
  ): Promise<Identity> {
    channel.setFraming(SPWF01_FRAMING)
    const build = await readVariable(channel, 'AT+S.STS=version', /^#\s*version\s*=\s*(\S+)/, timeoutMs)
    const known = build ? profiles.find((p) => p.module === 'SPWF01SA' && p.build.startsWith(build)) : undefined
    return { module: 'SPWF01SA', firmware: known?.firmware ?? null, build, dialect: 'spwf01' }
  }

  private cmd(text: string): string {
    if (text.length > MAX_COMMAND)
      throw new DeviceError(
        'AT_INVALID_FIELD',
        `command is ${text.length} characters; the SPWF01 takes at most ${MAX_COMMAND}`,
      )
    return text
  }

  async prepare(now: Date): Promise<void> {
    await expectOk(this.channel, 'AT+S.SCFG=localecho1,0', this.timeouts.commandMs)
    await expectOk(this.channel, `AT+S.SETTIME=${epochSeconds(now)}`, this.timeouts.commandMs)
  }

  async clean(): Promise<void> {
    await expectOk(this.channel, 'AT+S.TLSCERT2=clean,all', this.timeouts.commandMs)
  }

  async uploadCa(der: Buffer): Promise<CaUpload> {
    const pem = Buffer.from(toPem(der))
    if (pem.length > this.profile.store.maxCaBytes)
      throw new DeviceError(
        'CA_TOO_LARGE',
        `CA of ${pem.length} PEM bytes does not fit the module's ${this.profile.store.maxCaBytes}-byte store`,
      )
    const command = `AT+S.TLSCERT=ca,${pem.length}`
    const lines = await expectOk(this.channel, command, this.timeouts.commandMs + Math.ceil(pem.length / 10), pem)
    const why = damage([...lines, 'OK'], this.profile)
    if (why) throw new DeviceError('AT_GARBAGE', `${command}: ${why}`)
    return { command, ski: null, lines }
  }

  async httpsGet(req: HttpsRequest): Promise<Attempt> {
    const host = atField('host', req.host, { max: 100 })
    const path = atPath(req.path, 96)
    const port = atPort(req.port)
    // This request's record starts here, with a cap of its own.
    const mark = this.channel.transcript.begin()
    const started = this.monotonic()
    const lines: string[] = []
    try {
      const dom = await this.judged(this.cmd(`AT+S.TLSDOMAIN=domain,${host}`), this.timeouts.commandMs)
      lines.push(...dom)
      if (dom[dom.length - 1] !== 'OK')
        return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark, null, dom)
      // The verdict is SOCKON's answer: classified alone, and only when complete and well-formed.
      const on = await this.judged(this.cmd(`AT+S.SOCKON=${host},${port},s,ind`), this.timeouts.httpMs)
      lines.push(...on)
      if (on[on.length - 1] !== 'OK')
        return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark, null, on)
      const id = /^ ID: (\d+)$/.exec(on.find((l) => l.startsWith(' ID:')) ?? '')?.[1]
      if (!id) throw new DeviceError('AT_GARBAGE', `SOCKON answered OK without a socket ID: ${on.join(' | ')}`)
      this.closedSockets.delete(id)
      const request = Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tlsmatrix\r\nConnection: close\r\n\r\n`,
        'latin1',
      )
      await expectOk(this.channel, this.cmd(`AT+S.SOCKW=${id},${request.length}`), this.timeouts.commandMs, request)
      const response = await this.readAll(id, started)
      await this.channel.exec(`AT+S.SOCKC=${id}`, { timeoutMs: this.timeouts.commandMs }).catch(() => undefined)
      const statusLine = response.toString('latin1').split('\r\n', 1)[0] ?? ''
      const status = Number(/^HTTP\/1\.\d (\d{3})(?: [\x20-\x7e]*)?$/.exec(statusLine)?.[1] ?? NaN)
      lines.push(statusLine)
      if (!Number.isFinite(status))
        throw new DeviceError('AT_GARBAGE', `the socket returned no HTTP status line (${response.length} bytes)`)
      const done = {
        lines,
        httpStatus: status,
        durationMs: Math.round(this.monotonic() - started),
        transcript: this.channel.transcript.since(mark),
      }
      // The status comes from the server's bytes read through the module: HTTP errors are the server's answer.
      if (status >= 400)
        return { ...done, outcome: 'fail', class: 'http', bodyBytes: 0, deviceError: null, fault: null }
      const head = response.indexOf('\r\n\r\n')
      return passedAttempt({ ...done, bodyBytes: head < 0 ? 0 : response.length - head - 4 }, this.profile, on)
    } catch (err) {
      if (isDeviceError(err, 'AT_ERROR')) {
        const answer = [...err.lines]
        return failedAttempt(
          [...lines, ...answer],
          this.profile,
          started,
          this.monotonic(),
          this.channel,
          mark,
          null,
          answer,
        )
      }
      if (isDeviceError(err, 'AT_INVALID_FIELD')) throw err
      return deviceAttempt(err, started, this.monotonic(), this.channel, mark)
    }
  }

  /** One command's whole answer (lines and final line); a damaged OK answer is a link fault. */
  private async judged(cmd: string, timeoutMs: number): Promise<string[]> {
    const r = await this.channel.exec(cmd, { timeoutMs })
    const all = [...r.lines, r.final]
    if (r.ok) {
      const why = damage(all, this.profile)
      if (why) throw new DeviceError('AT_GARBAGE', `${cmd.slice(0, 60)}: ${why}`, { lines: all })
    }
    return all
  }

  /**
   * Reads the socket until the server has closed it and nothing is pending. A query that says 0
   * is final only if the close was seen before it was asked: Pending Data and Socket Closed may
   * arrive right behind a `DATALEN: 0` (the module prints indications between responses), so
   * any indication for the socket means: query again.
   */
  private async readAll(id: string, started: number): Promise<Buffer> {
    const chunks: Buffer[] = []
    let size = 0
    while (this.monotonic() - started < this.timeouts.httpMs) {
      const closedBefore = this.closedSockets.has(id)
      const eventsBefore = this.socketEvents.get(id) ?? 0
      const q = await expectOk(this.channel, `AT+S.SOCKQ=${id}`, this.timeouts.commandMs)
      const len = /^ DATALEN: (\d+)$/.exec(q.length === 1 ? q[0]! : '')?.[1]
      if (len === undefined) throw new DeviceError('AT_GARBAGE', `SOCKQ answered ${JSON.stringify(q).slice(0, 120)}`)
      const pending = Number(len)
      if (pending > 0) {
        const n = Math.min(pending, READ_CHUNK)
        const r = await this.channel.exec(`AT+S.SOCKR=${id},${n}`, {
          timeoutMs: this.timeouts.commandMs + n,
          rawFirst: n,
        })
        if (!r.ok) throw new DeviceError('AT_ERROR', `SOCKR: ${r.final}`)
        if (r.lines.length > 0)
          throw new DeviceError('AT_GARBAGE', `SOCKR: unexpected lines ${JSON.stringify(r.lines).slice(0, 120)}`)
        const data = r.body ?? Buffer.alloc(0)
        if (size < MAX_RESPONSE) chunks.push(data)
        size += data.length
        continue
      }
      if (closedBefore) break
      if ((this.socketEvents.get(id) ?? 0) !== eventsBefore) continue
      // Nothing yet: wait for the module's next indication for a socket, bounded.
      const left = this.timeouts.httpMs - (this.monotonic() - started)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, Math.min(left, 1000)))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.socketWaiters.push(done)
      })
    }
    if (!this.closedSockets.has(id) && !responseComplete(Buffer.concat(chunks))) {
      throw new DeviceError('AT_TIMEOUT', `socket ${id}: the response did not end within ${this.timeouts.httpMs} ms`)
    }
    return Buffer.concat(chunks)
  }

  async reset(stop?: () => boolean): Promise<void> {
    await resetAndResync(this.channel, 'AT+CFUN=1', /^\+WIND:0:Console active/, this.timeouts, SYNC_PROBE, stop)
  }

  async resync(stop?: () => boolean): Promise<void> {
    await resync(this.channel, SYNC_PROBE, this.timeouts, stop)
  }

  async close(): Promise<void> {}
}
