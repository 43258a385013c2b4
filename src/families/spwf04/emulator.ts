import { classLines, fillLine } from '../../profile/classify.js'
import type { FailureClass, FirmwareProfile } from '../../profile/profile.js'
import { splitArgs } from '../../emulator/command-line.js'
import { httpGet } from '../../emulator/https-client.js'
import type { DialectHandler, ModuleContext } from '../../emulator/module.js'
import type { Response } from '../../emulator/response.js'
import { connectAndJudge, parseCa } from '../../emulator/secure-connect.js'

/** FW 1.1.0 error texts (reference §3), by code. */
const ERRORS: Record<number, string> = {
  1: 'Command not found',
  2: 'Missing argument(s)',
  4: 'Variable not found',
  6: 'Too many argument(s)',
  7: 'Invalid argument(s)',
  8: 'Invalid value',
  32: 'Argument exceeds allowed size',
  33: 'Argument evaluated to zero',
  44: 'Wait for Connection Up',
  65: 'DNS address failure',
  91: 'Low Memory',
  101: 'Failed to write flash',
  111: 'Request failed',
}
/** The emulator keeps at most this much of a response body (documented in the profiles' notes). */
const MAX_BODY = 64 * 1024
const CONFIG_DEFAULTS: Record<string, string> = {
  console_echo: '1',
  console_errs: '2',
  console_verbose: '1',
  console_speed: '115200',
  console_hwfc: '0',
  console_winds: '1',
  wifi_mode: '1',
  ip_use_dhcp: '1',
  // The driver's resync variable (spwf04.syncVariable); the default value is a GUESS, only the
  // variable's existence and that it echoes what it is given matter.
  ip_apdomainname: 'captiveportal.net',
}

function error(out: Response, ctx: ModuleContext, code: number): void {
  const errs = ctx.ram.errs
  out.line(errs === 0 ? 'AT-S.ERROR' : errs === 1 ? `AT-S.ERROR:${code}` : `AT-S.ERROR:${code}:${ERRORS[code] ?? ''}`)
}

/** A TLS store slot's size: the profile's, so a profile with a smaller store is emulated as such. */
function slotBytes(profile: FirmwareProfile): number {
  return profile.store.maxCaBytes
}

/** strtoul semantics: leading digits, 0 when there are none (reference §5: length parsed first). */
function leadingNumber(s: string): number {
  const m = /^\s*(\d+)/.exec(s)
  return m?.[1] ? Number(m[1]) : 0
}

/** The lines the profile prints for a failure class, ending in the final error line. */
export function failureLines(ctx: ModuleContext, cls: FailureClass, status = 0): string[] {
  const entry = classLines(ctx.profile, cls) ?? ['AT-S.Http Client Error:2']
  const lines = entry.map((t) => fillLine(t, status))
  if (!lines.some((l) => l.startsWith('AT-S.ERROR'))) lines.push(`AT-S.ERROR:111:${ERRORS[111]}`)
  return lines
}

/** SPWF04SA 1.x command set (reference §1-§8, §11). */
export const spwf04: DialectHandler = {
  banner(ctx) {
    const lines = [
      `+WIND:1:Poweron:${ctx.profile.build}`,
      '+WIND:13:Copyright (c) 2012-2017 STMicroelectronics, Inc.  All rights Reserved',
      '+WIND:3:Watchdog Running',
      '+WIND:0:Console active',
      '+WIND:32:WiFi Hardware Started',
    ]
    if (ctx.wifi) lines.push('+WIND:24:WiFi Up:0:192.168.0.50')
    return lines
  },

  freshRam() {
    return { echo: true, errs: 2, verbose: true, vars: new Map(Object.entries(CONFIG_DEFAULTS)) }
  },

  payloadLength(cmd, profile) {
    const { name, args } = splitArgs(cmd)
    if (name !== 'AT+S.TLSCERT' || !args || args.length !== 2) return 0
    const kind = (args[0] ?? '').toLowerCase()
    const n = leadingNumber(args[1] ?? '')
    return ['ca', 'cert', 'key', 'auth'].includes(kind) && n > 0 && n <= slotBytes(profile) ? n : 0
  },

  lineError(out, ctx) {
    error(out, ctx, 1)
  },

  async handle(cmd, payload, out, ctx) {
    const { name, args } = splitArgs(cmd)
    switch (name) {
      case 'AT':
        if (args) return error(out, ctx, 6)
        out.line('AT-S.OK')
        return
      case 'AT+S.HELP':
        for (const c of [
          'AT',
          'AT+S.HELP',
          'AT+S.RESET',
          'AT+S.STS',
          'AT+S.GCFG',
          'AT+S.SCFG',
          'AT+S.WCFG',
          'AT+S.FCFG',
          'AT+S.TIME',
          'AT+S.TLSCERT',
          'AT+S.HTTPGET',
        ])
          out.line(`AT-S.${c}`)
        out.line('AT-S.OK')
        return
      case 'AT+S.STS': {
        const vars: Record<string, string> = {
          fw_version: ctx.profile.firmware,
          build: ctx.profile.build,
          reset_reason: '0',
          wifi_state: ctx.wifi ? '10' : '2',
          ip_ipaddr: ctx.wifi ? '192.168.0.50' : '0.0.0.0',
          free_heap: '48000',
        }
        if (args) {
          const v = Object.hasOwn(vars, args[0] ?? '') ? vars[args[0] ?? ''] : undefined
          if (v === undefined || args.length > 1) return error(out, ctx, args.length > 1 ? 6 : 4)
          out.line(`AT-S.Var:${args[0]}=${v}`)
        } else for (const [k, v] of Object.entries(vars)) out.line(`AT-S.Var:${k}=${v}`)
        out.line('AT-S.OK')
        return
      }
      case 'AT+S.GCFG': {
        const vars = ctx.ram.vars
        if (args) {
          const v = vars.get(args[0] ?? '')
          if (v === undefined) return error(out, ctx, 4)
          out.line(`AT-S.Var:${args[0]}=${v}`)
        } else for (const [k, v] of vars) out.line(`AT-S.Var:${k}=${v}`)
        out.line('AT-S.OK')
        return
      }
      case 'AT+S.SCFG': {
        if (!args || args.length < 2) return error(out, ctx, 2)
        if (args.length > 2) return error(out, ctx, 6)
        const [key = '', value = ''] = args
        if (!ctx.ram.vars.has(key)) return error(out, ctx, 4)
        if (key === 'console_errs' && !['0', '1', '2'].includes(value)) return error(out, ctx, 8)
        ctx.ram.vars.set(key, value)
        if (key === 'console_echo') ctx.ram.echo = value !== '0'
        if (key === 'console_errs') ctx.ram.errs = Number(value) as 0 | 1 | 2
        out.line('AT-S.OK')
        return
      }
      case 'AT+S.WCFG':
      case 'AT+S.FCFG':
        out.line('AT-S.OK')
        return
      case 'AT+S.TIME': {
        if (!args) {
          const d = ctx.now()
          const p = (n: number) => String(n).padStart(2, '0')
          out.line(`AT-S.Date:${p(d.getUTCDate())}.${p(d.getUTCMonth() + 1)}.${d.getUTCFullYear()}:${d.getUTCDay()}`)
          out.line(`AT-S.Time:${p(d.getUTCHours())}.${p(d.getUTCMinutes())}.${p(d.getUTCSeconds())}`)
          out.line('AT-S.OK')
          return
        }
        if (args.length > 1) return error(out, ctx, 6)
        if (!/^\d{1,10}$/.test(args[0] ?? '')) return error(out, ctx, 111)
        ctx.setClock(new Date(Number(args[0]) * 1000))
        out.line('AT-S.OK')
        return
      }
      case 'AT+S.RESET':
        if (args) return error(out, ctx, 6)
        out.line('AT-S.OK')
        ctx.reboot()
        return
      case 'AT+S.TLSCERT':
        return tlsCert(args, payload, out, ctx)
      case 'AT+S.HTTPGET':
        return await httpGetCommand(args, out, ctx)
      default:
        return error(out, ctx, 1)
    }
  },
}

function tlsCert(args: string[] | null, payload: Buffer | null, out: Response, ctx: ModuleContext): void {
  if (!args || args.length < 2) return error(out, ctx, 2)
  if (args.length > 2) return error(out, ctx, 6)
  const kind = (args[0] ?? '').toLowerCase()
  const n = leadingNumber(args[1] ?? '')
  if (n === 0) return error(out, ctx, 33)
  if (n > slotBytes(ctx.profile)) return error(out, ctx, 32)
  const f = ctx.flash
  if (kind === 'content') {
    if (n === 1) {
      out
        .line('AT-S.List')
        .line(`AT-S.CA:${f.ca ? 1 : 0}`)
        .line(`AT-S.Cert:${f.cert ? 1 : 0}`)
        .line(`AT-S.Key:${f.key ? 1 : 0}`)
        .line(`AT-S.Id:${f.auth || f.caSki ? 1 : 0}`)
        .line('AT-S.OK')
      return
    }
    if (n === 2) {
      Object.assign(f, { ca: null, caSki: null, cert: null, key: null, auth: null })
      out.line('AT-S.Clean').line('AT-S.OK')
      return
    }
    return error(out, ctx, 7)
  }
  if (!['ca', 'cert', 'key', 'auth'].includes(kind) || !payload) return error(out, ctx, 7)
  if (kind === 'ca') {
    f.ca = payload
    const cert = parseCa(payload)
    f.caSki = cert?.info.ski ?? null
    out.line(f.caSki ? `AT-S.SubjectKeyId:${f.caSki.toUpperCase().match(/../g)!.join(':')}` : 'AT-S.No SubjectKeyId')
  } else if (kind === 'auth') {
    f.auth = payload
    f.caSki =
      payload
        .toString('latin1')
        .replace(/[^0-9a-fA-F]/g, '')
        .toLowerCase() || null
  } else f[kind as 'cert' | 'key'] = payload
  out.line('AT-S.OK')
}

async function httpGetCommand(args: string[] | null, out: Response, ctx: ModuleContext): Promise<void> {
  if (!args || args.length < 8) return error(out, ctx, 2)
  if (args.length > 8) return error(out, ctx, 6)
  const [host = '', pathArg = '', portArg = '', tlsArg = '', , , down = '', up = ''] = args
  if (!['0', '1', '2'].includes(tlsArg)) return error(out, ctx, 7)
  if (!ctx.wifi) return error(out, ctx, 44)
  if (host === '' || down.length > 64 || up.length > 64) return error(out, ctx, 7)
  const tls = tlsArg !== '0'
  const path = pathArg === '' ? '/index.html' : pathArg
  const port = leadingNumber(portArg) || (tls ? 443 : 80)
  const fail = (cls: FailureClass, pre: string[] = [], status = 0) => {
    for (const l of pre) out.line(l)
    for (const l of failureLines(ctx, cls, status)) out.line(l)
  }
  const session = await connectAndJudge(ctx, 'HTTPGET', host, port, tls, host)
  if (!session.ok) return fail(session.class, session.lines)
  const pre = session.lines
  const httpStart = ctx.net.clock.monotonic()
  const res = await httpGet(session.socket, host, path, ctx.net.timeoutMs, MAX_BODY)
  ctx.stats.networkMs += ctx.net.clock.monotonic() - httpStart
  for (const l of pre) out.line(l)
  if ('error' in res) return fail(res.error)
  out.line(`AT-S.Http Server Status Code:${res.status}`)
  if (res.status >= 400) {
    for (const l of failureLines(ctx, 'http', res.status)) out.line(l)
    return
  }
  out.raw(res.body)
  // ST's parser ends the body at AT-S.OK at the start of a line (reference §6).
  if (res.body.length > 0 && res.body[res.body.length - 1] !== 0x0a) out.raw(Buffer.from('\r\n'))
  out.line('AT-S.OK')
}
