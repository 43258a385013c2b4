import { toPem } from '../../chain/index.js'
import { SPWF01_FRAMING, type AtChannel } from '../at/channel.js'
import { atField, atPort } from '../at/fields.js'
import { DeviceError, isDeviceError } from '../errors.js'
import type { FirmwareProfile } from '../profile/profile.js'
import { DEFAULT_TIMEOUTS, deviceAttempt, epochSeconds, expectOk, failedAttempt, resetAndResync, type DriverTimeouts } from './common.js'
import type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from './driver.js'

/** SPWF01 limits a command to 127 characters after "AT" (reference §12, [C]). */
const MAX_COMMAND = 129
/** Socket reads are capped like the mbed driver's 730-byte chunks (reference §1). */
const READ_CHUNK = 730
const MAX_RESPONSE = 256 * 1024

/** SPWF01SA driver: `OK` / `ERROR: <text>` dialect; HTTPS through a secure socket (reference §12). */
export class Spwf01Driver implements ModuleDriver {
  private closedSockets = new Set<string>()

  constructor(
    private readonly channel: AtChannel,
    readonly identity: Identity,
    private readonly profile: FirmwareProfile,
    private readonly monotonic: () => number,
    private readonly timeouts: DriverTimeouts = DEFAULT_TIMEOUTS,
  ) {
    channel.setFraming(SPWF01_FRAMING)
    channel.onWind((line) => {
      const m = /^\+WIND:58:Socket Closed:(\d+)/.exec(line)
      if (m?.[1]) this.closedSockets.add(m[1])
    })
  }

  /** `AT+S.STS=version` prints `#  version = <yymmdd>-<hash>`; the profile's build maps it to a version. */
  static async identify(channel: AtChannel, timeoutMs: number, profiles: readonly FirmwareProfile[]): Promise<Identity> {
    channel.setFraming(SPWF01_FRAMING)
    const lines = await expectOk(channel, 'AT+S.STS=version', timeoutMs)
    const build = /^#\s*version\s*=\s*(\S+)/.exec(lines.find((l) => /^#\s*version\s*=/.test(l)) ?? '')?.[1] ?? null
    const known = build ? profiles.find((p) => p.module === 'SPWF01SA' && p.build.startsWith(build)) : undefined
    return { module: 'SPWF01SA', firmware: known?.firmware ?? null, build, dialect: 'spwf01' }
  }

  private cmd(text: string): string {
    if (text.length > MAX_COMMAND) throw new DeviceError('AT_INVALID_FIELD', `command is ${text.length} characters; the SPWF01 takes at most ${MAX_COMMAND}`)
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
    if (pem.length > this.profile.store.maxCaBytes) throw new DeviceError('CA_TOO_LARGE', `CA of ${pem.length} PEM bytes does not fit the module's ${this.profile.store.maxCaBytes}-byte store`)
    const lines = await expectOk(this.channel, `AT+S.TLSCERT=ca,${pem.length}`, this.timeouts.commandMs + Math.ceil(pem.length / 10), pem)
    return { ski: null, lines }
  }

  async httpsGet(req: HttpsRequest): Promise<Attempt> {
    const host = atField('host', req.host, { max: 100 })
    const path = atField('path', req.path, { max: 96 })
    const port = atPort(req.port)
    const mark = this.channel.transcript.length
    const started = this.monotonic()
    const lines: string[] = []
    try {
      lines.push(...await this.step(this.cmd(`AT+S.TLSDOMAIN=domain,${host}`)))
      const on = await this.channel.exec(this.cmd(`AT+S.SOCKON=${host},${port},s,ind`), { timeoutMs: this.timeouts.httpMs })
      lines.push(...on.lines, on.final)
      if (!on.ok) return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark)
      const id = /ID:\s*(\d+)/.exec(on.lines.join(' '))?.[1]
      if (!id) throw new DeviceError('AT_GARBAGE', `SOCKON answered OK without a socket ID: ${on.lines.join(' | ')}`)
      this.closedSockets.delete(id)
      const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tlsmatrix\r\nConnection: close\r\n\r\n`, 'latin1')
      await expectOk(this.channel, this.cmd(`AT+S.SOCKW=${id},${request.length}`), this.timeouts.commandMs, request)
      const response = await this.readAll(id, started)
      await this.channel.exec(`AT+S.SOCKC=${id}`, { timeoutMs: this.timeouts.commandMs }).catch(() => undefined)
      const statusLine = response.toString('latin1').split('\r\n', 1)[0] ?? ''
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(statusLine)?.[1] ?? NaN)
      lines.push(statusLine)
      if (!Number.isFinite(status)) throw new DeviceError('AT_GARBAGE', `the socket returned no HTTP status line (${response.length} bytes)`)
      if (status >= 400) return failedAttempt(lines, this.profile, started, this.monotonic(), this.channel, mark, status)
      const head = response.indexOf('\r\n\r\n')
      return { outcome: 'pass', class: null, lines, httpStatus: status, bodyBytes: head < 0 ? 0 : response.length - head - 4, durationMs: Math.round(this.monotonic() - started), transcript: this.channel.transcript.since(mark), deviceError: null }
    } catch (err) {
      if (isDeviceError(err, 'AT_ERROR')) return failedAttempt([...lines, ...((err as { lines?: string[] }).lines ?? [])], this.profile, started, this.monotonic(), this.channel, mark)
      if (isDeviceError(err, 'AT_INVALID_FIELD')) throw err
      return deviceAttempt(err, started, this.monotonic(), this.channel, mark)
    }
  }

  private async step(cmd: string): Promise<string[]> {
    const r = await this.channel.exec(cmd, { timeoutMs: this.timeouts.commandMs })
    if (!r.ok) throw Object.assign(new DeviceError('AT_ERROR', `${cmd}: ${r.final}`), { lines: [...r.lines, r.final] })
    return r.lines
  }

  /** Polls SOCKQ/SOCKR until the server closes the socket and nothing is pending. */
  private async readAll(id: string, started: number): Promise<Buffer> {
    const chunks: Buffer[] = []
    let size = 0
    while (this.monotonic() - started < this.timeouts.httpMs) {
      const q = await expectOk(this.channel, `AT+S.SOCKQ=${id}`, this.timeouts.commandMs)
      const pending = Number(/DATALEN:\s*(\d+)/.exec(q.join(' '))?.[1] ?? 0)
      if (pending > 0) {
        const n = Math.min(pending, READ_CHUNK)
        const r = await this.channel.exec(`AT+S.SOCKR=${id},${n}`, { timeoutMs: this.timeouts.commandMs + n, rawFirst: n })
        if (!r.ok) throw new DeviceError('AT_ERROR', `SOCKR: ${r.final}`)
        const data = r.body ?? Buffer.alloc(0)
        if (size < MAX_RESPONSE) chunks.push(data)
        size += data.length
        continue
      }
      // Done when the server closed the socket, or when the response is complete by its length.
      if (this.closedSockets.has(id) || responseComplete(Buffer.concat(chunks))) break
      await new Promise((r) => setTimeout(r, 20))
    }
    return Buffer.concat(chunks)
  }

  async reset(): Promise<void> {
    await resetAndResync(this.channel, 'AT+CFUN=1', /^\+WIND:0:Console active/, this.timeouts)
  }

  async close(): Promise<void> {}
}

/** True when the headers are in and the body has reached its Content-Length. */
export function responseComplete(data: Buffer): boolean {
  const head = data.indexOf('\r\n\r\n')
  if (head < 0) return false
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(data.subarray(0, head).toString('latin1'))
  return m !== null && data.length - head - 4 >= Number(m[1])
}
