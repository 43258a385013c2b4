import { isIP } from 'node:net'
import { toPem } from '../../chain/index.js'
import type { AtChannel } from '../../device/at/channel.js'
import { atPort } from '../../device/at/fields.js'
import {
  DEFAULT_TIMEOUTS,
  deviceAttempt,
  epochSeconds,
  failedAttempt,
  passedAttempt,
  readVariable,
  rebootCounter,
  resetAndResync,
  resync,
  type DriverTimeouts,
} from '../../device/drivers/common.js'
import type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from '../../device/drivers/driver.js'
import { responseComplete } from '../../device/drivers/http.js'
import { DeviceError, isDeviceError } from '../../device/errors.js'
import { damage } from '../../profile/classify.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import { commandLine, MAX_HOST, quoted } from './fields.js'
import { ESP_FRAMING, isEspReboot } from './framing.js'
import { parseGmr } from './identify.js'
import { PKI_PARTITION_BYTES, PKI_TYPE, pkiPartition } from './pki-partition.js'
import { espExtras, ESP_DIALECT, SYSMFG_MAX_BYTES, type EspExtras } from './profile.js'

/** Its answer carries a line no other command's does (see resync in drivers/common.ts). */
const SYNC_PROBE = { command: 'AT+GMR', line: /^AT version:/ }
/** SYSFLASH writes go in chunks of at most 4 KB (reference §2.2). */
const FLASH_CHUNK = 4096
/** CIPSEND takes at most 8192 bytes (reference §1). */
const MAX_SEND = 8192
/** CIPSTART's own time-out parameter, in ms, 0..60000 (reference §3.1). */
const MAX_CONNECT_TIMEOUT = 60_000
const MAX_RESPONSE = 256 * 1024
/** The CA goes in `client_ca.0` / AtPKI item id 0, and CIPSSLCCONF selects it. */
const CA_INDEX = 0

/** `AT+CWSTATE?`: `2` is joined with an address; null when the firmware does not answer it. */
export async function readWifiState(channel: AtChannel, timeoutMs: number, tries?: number): Promise<string | null> {
  return await readVariable(channel, 'AT+CWSTATE?', /^\+CWSTATE:(\d)/, timeoutMs, tries)
}

/**
 * ESP-AT driver (reference §1-§3): identify with AT+GMR, CA into SYSMFG or the SYSFLASH AtPKI
 * partition as the profile says, the test through a TLS socket (never AT+HTTPCLIENT, which does
 * not verify the server on default builds), the verdict read from CIPSTART's answer only.
 */
export class EspAtDriver implements ModuleDriver {
  readonly reboots: () => number
  private readonly esp: EspExtras
  private data: Buffer[] = []
  private dataBytes = 0
  private closed = false
  private rebooted = false
  private waiters: Array<() => void> = []

  constructor(
    private readonly channel: AtChannel,
    readonly identity: Identity,
    private readonly profile: FirmwareProfile,
    private readonly monotonic: () => number,
    private readonly timeouts: DriverTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.esp = espExtras(profile)
    channel.setFraming(ESP_FRAMING)
    this.reboots = rebootCounter(channel, isEspReboot)
    channel.onInlineData((bytes) => {
      if (this.dataBytes < MAX_RESPONSE) this.data.push(Buffer.from(bytes.subarray(0, MAX_RESPONSE - this.dataBytes)))
      this.dataBytes += bytes.length
      this.wake()
    })
    channel.onWind((line) => {
      if (/^(?:\d,)?CLOSED$/.test(line) || isEspReboot(line)) {
        this.closed = true
        if (isEspReboot(line)) this.rebooted = true
        this.wake()
      }
    })
  }

  /** `AT+GMR` → module (chip), firmware (first three numbers), build (the whole AT version). */
  static async identify(channel: AtChannel, timeoutMs: number): Promise<Identity> {
    channel.setFraming(ESP_FRAMING)
    const version = await readVariable(channel, 'AT+GMR', /^AT version:(.+)$/, timeoutMs)
    if (!version) throw new DeviceError('DEVICE_UNKNOWN', 'AT+GMR printed no AT version line')
    const v = parseGmr(version)
    return { module: v.module, firmware: v.firmware, build: v.build, dialect: ESP_DIALECT }
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private async ok(
    cmd: string,
    opts: { timeoutMs?: number; payload?: Buffer } = {},
  ): Promise<{ lines: string[]; winds: string[] }> {
    const r = await this.channel.exec(commandLine(cmd), {
      timeoutMs: opts.timeoutMs ?? this.timeouts.commandMs,
      ...(opts.payload ? { payload: opts.payload, prompt: true } : {}),
    })
    if (!r.ok)
      throw new DeviceError(
        r.final === 'busy p...' ? 'AT_BUSY' : 'AT_ERROR',
        `${cmd.slice(0, 60)}: ${[...r.lines, r.final].join(' | ').slice(0, 160)}`,
        { lines: [...r.lines, r.final] },
      )
    return { lines: r.lines, winds: r.winds }
  }

  async prepare(now: Date): Promise<void> {
    await this.ok('ATE0')
    await this.ok('AT+SYSLOG=1')
    await this.ok(`AT+SYSTIMESTAMP=${epochSeconds(now)}`)
  }

  async clean(): Promise<void> {
    await this.ok(this.esp.caStore === 'sysmfg' ? 'AT+SYSMFG=0,"client_ca"' : 'AT+SYSFLASH=0,"client_ca"')
  }

  async uploadCa(der: Buffer): Promise<CaUpload> {
    const pem = Buffer.from(toPem(der))
    // The profile's limit counts PEM bytes (what the plan compares); the store's own limit holds too.
    if (pem.length > this.profile.store.maxCaBytes)
      throw new DeviceError(
        'CA_TOO_LARGE',
        `CA of ${pem.length} PEM bytes is over the ${this.profile.store.maxCaBytes} bytes ${this.profile.id} takes`,
      )
    let command: string
    const lines: string[] = []
    if (this.esp.caStore === 'sysmfg') {
      if (pem.length > SYSMFG_MAX_BYTES)
        throw new DeviceError(
          'CA_TOO_LARGE',
          `CA of ${pem.length} PEM bytes does not fit a ${SYSMFG_MAX_BYTES}-byte SYSMFG value`,
        )
      command = `AT+SYSMFG=2,"client_ca","client_ca.${CA_INDEX}",8,${pem.length}`
      lines.push(
        ...(await this.ok(command, { timeoutMs: this.timeouts.commandMs + Math.ceil(pem.length / 10), payload: pem }))
          .lines,
      )
    } else {
      const image = pkiPartition([{ type: PKI_TYPE.ca, id: CA_INDEX, content: pem }])
      if (image.length > PKI_PARTITION_BYTES)
        throw new DeviceError(
          'CA_TOO_LARGE',
          `CA of ${pem.length} PEM bytes makes a ${image.length}-byte AtPKI image; the client_ca partition holds ${PKI_PARTITION_BYTES}`,
        )
      await this.ok('AT+SYSFLASH=0,"client_ca"')
      command = `AT+SYSFLASH=1,"client_ca",0,${image.length}`
      for (let off = 0; off < image.length; off += FLASH_CHUNK) {
        const chunk = image.subarray(off, off + FLASH_CHUNK)
        lines.push(
          ...(
            await this.ok(`AT+SYSFLASH=1,"client_ca",${off},${chunk.length}`, {
              timeoutMs: this.timeouts.commandMs + Math.ceil(chunk.length / 10),
              payload: chunk,
            })
          ).lines,
        )
      }
    }
    const conf = await this.ok(`AT+CIPSSLCCONF=2,0,${CA_INDEX}`)
    lines.push(...conf.lines)
    // The module reads the CA back to configure verification: no CA there means the upload did not take.
    const missing = conf.winds.find((w) => /^NO (?:CA|CERT|PRVT_KEY) FOUND$/.test(w))
    if (missing) throw new DeviceError('CA_INVALID', `after ${command} the module says ${missing}`)
    const why = damage([...lines, 'OK'], this.profile)
    if (why) throw new DeviceError('AT_GARBAGE', `${command}: ${why}`)
    return { command, ski: null, lines }
  }

  async httpsGet(req: HttpsRequest): Promise<Attempt> {
    // No host name holds a comma, quote or backslash: refused rather than escaped, so that (as on
    // every family) none of them reaches the module from a target.
    if (/[,"\\]/.test(req.host))
      throw new DeviceError(
        'AT_INVALID_FIELD',
        'host contains a comma, quote or backslash, which no host name has; refused, nothing sent',
      )
    // An IPv6 address needs AT+CIPV6=1 and the "SSLv6" type, which this driver does not use: the
    // module would answer a bare ERROR, indistinguishable from a failed handshake. No verdict, then.
    if (isIP(req.host.replace(/^\[(.*)\]$/, '$1')) === 6)
      throw new DeviceError(
        'AT_INVALID_FIELD',
        `${req.host} is an IPv6 address: ESP-AT reaches one only with AT+CIPV6=1 and "SSLv6", which tlsmatrix does not drive yet; refused, nothing sent`,
      )
    const host = quoted('host', req.host, { max: MAX_HOST })
    // The path goes in the request bytes, not in a command; a comma is refused all the same, as the other families do.
    if (!/^\/[\x21-\x2b\x2d-\x7e]*$/.test(req.path) || req.path.length > 2048)
      throw new DeviceError(
        'AT_INVALID_FIELD',
        'path must start with / and hold printable ASCII without spaces or commas (at most 2048 characters)',
      )
    const port = atPort(req.port)
    // This request's record starts here, with a cap of its own.
    const mark = this.channel.transcript.begin()
    const started = this.monotonic()
    const lines: string[] = []
    const elapsed = () => this.monotonic()
    try {
      // Releases up to v4.1.1 send no SNI and check no name unless told: always tell, and record it.
      this.channel.note(`name checked (SNI and certificate): ${req.host}`)
      const sni = await this.channel.exec(commandLine(`AT+CIPSSLCSNI=${host}`), { timeoutMs: this.timeouts.commandMs })
      if (!sni.ok) {
        return {
          ...deviceAttempt(
            new DeviceError(
              sni.final === 'busy p...' ? 'AT_BUSY' : 'AT_ERROR',
              `AT+CIPSSLCSNI refused: ${[...sni.lines, sni.final].join(' | ')}`,
            ),
            started,
            elapsed(),
            this.channel,
            mark,
          ),
          lines: [...sni.lines, sni.final],
          fault: 'unrecognized',
        }
      }
      this.data = []
      this.dataBytes = 0
      this.closed = false
      this.rebooted = false
      const timeout = Math.min(MAX_CONNECT_TIMEOUT, this.timeouts.httpMs)
      const start = await this.channel.exec(commandLine(`AT+CIPSTART="SSL",${host},${port},,,${timeout}`), {
        timeoutMs: timeout + this.timeouts.commandMs,
      })
      const on = [...start.lines, start.final]
      lines.push(...on)
      if (start.final === 'busy p...') throw new DeviceError('AT_BUSY', 'AT+CIPSTART: busy p...', { lines: on })
      if (start.lines.includes('ALREADY CONNECTED')) {
        // A link left open by an attempt cut short: close it so the retry starts clean; no verdict.
        await this.channel.exec('AT+CIPCLOSE', { timeoutMs: this.timeouts.commandMs }).catch(() => undefined)
        throw new DeviceError('AT_ERROR', 'AT+CIPSTART: a link was still open (ALREADY CONNECTED); closed it', {
          lines: on,
        })
      }
      // The verdict is CIPSTART's answer: classified alone, and only when complete and well-formed.
      if (!start.ok) {
        // Without Wi-Fi CIPSTART says only ERROR, as for a refused chain: ask, so that no target is
        // failed for the module's network (a firmware that refuses the query keeps the verdict).
        const state = await readWifiState(this.channel, this.timeouts.commandMs, 1)
        if (state !== null && state !== '2') {
          return {
            ...deviceAttempt(
              new DeviceError(
                'AT_ERROR',
                `AT+CIPSTART failed while the module has no Wi-Fi (+CWSTATE:${state}): no verdict; join a network (AT+CWJAP)`,
              ),
              started,
              elapsed(),
              this.channel,
              mark,
            ),
            lines,
            fault: 'unrecognized',
          }
        }
        return failedAttempt(lines, this.profile, started, elapsed(), this.channel, mark, null, on)
      }
      const why = damage(on, this.profile)
      if (why) throw new DeviceError('AT_GARBAGE', `AT+CIPSTART: ${why}`, { lines: on })
      if (!start.lines.includes('CONNECT'))
        throw new DeviceError('AT_GARBAGE', `AT+CIPSTART answered OK without CONNECT: ${on.join(' | ')}`, {
          lines: on,
        })
      const request = Buffer.from(
        `GET ${req.path} HTTP/1.1\r\nHost: ${req.host}\r\nUser-Agent: tlsmatrix\r\nConnection: close\r\n\r\n`,
        'latin1',
      )
      if (request.length > MAX_SEND)
        throw new DeviceError(
          'AT_INVALID_FIELD',
          `the request is ${request.length} bytes; CIPSEND takes at most ${MAX_SEND}`,
        )
      await this.ok(`AT+CIPSEND=${request.length}`, {
        timeoutMs: this.timeouts.commandMs + request.length,
        payload: request,
      })
      const response = await this.readAll(started)
      if (!this.closed)
        await this.channel.exec('AT+CIPCLOSE', { timeoutMs: this.timeouts.commandMs }).catch(() => undefined)
      const statusLine = response.toString('latin1').split('\r\n', 1)[0] ?? ''
      const status = Number(/^HTTP\/1\.\d (\d{3})(?: [\x20-\x7e]*)?$/.exec(statusLine)?.[1] ?? NaN)
      lines.push(statusLine)
      if (!Number.isFinite(status))
        throw new DeviceError('AT_GARBAGE', `the socket returned no HTTP status line (${response.length} bytes)`)
      const done = {
        lines,
        httpStatus: status,
        durationMs: Math.round(elapsed() - started),
        transcript: this.channel.transcript.since(mark),
      }
      if (status >= 400)
        return { ...done, outcome: 'fail', class: 'http', bodyBytes: 0, deviceError: null, fault: null }
      const head = response.indexOf('\r\n\r\n')
      return passedAttempt({ ...done, bodyBytes: head < 0 ? 0 : response.length - head - 4 }, this.profile, on)
    } catch (err) {
      if (isDeviceError(err, 'AT_INVALID_FIELD')) throw err
      return deviceAttempt(err, started, elapsed(), this.channel, mark)
    }
  }

  /** +IPD data until the server closes (CLOSED), the response is complete, or the time bound. */
  private async readAll(started: number): Promise<Buffer> {
    while (!this.closed && !responseComplete(Buffer.concat(this.data))) {
      // No command is in flight here: without this, a request abandoned by a stop (the port
      // closed under it) would keep waiting, and the process alive, for the whole time-out.
      if (this.channel.isClosed) throw new DeviceError('AT_CLOSED', 'the port closed while the response was read')
      const left = this.timeouts.httpMs - (this.monotonic() - started)
      if (left <= 0)
        throw new DeviceError(
          'AT_TIMEOUT',
          `the response did not end within ${this.timeouts.httpMs} ms (${this.dataBytes} bytes)`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.waiters.push(done)
      })
    }
    // A reboot also ends the wait: what came before it is no response.
    if (this.rebooted) throw new DeviceError('AT_REBOOTED', 'the module restarted (ready) during the response')
    return Buffer.concat(this.data)
  }

  async reset(stop?: () => boolean): Promise<void> {
    await resetAndResync(this.channel, 'AT+RST', /^ready$/, this.timeouts, SYNC_PROBE, stop)
  }

  async resync(stop?: () => boolean): Promise<void> {
    await resync(this.channel, SYNC_PROBE, this.timeouts, stop)
  }

  async close(): Promise<void> {}
}
