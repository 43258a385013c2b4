import { pemBlocks } from '../../chain/index.js'
import { classLines } from '../../profile/classify.js'
import type { FailureClass } from '../../profile/profile.js'
import { splitArgs } from '../../emulator/command-line.js'
import { connectAndJudge } from '../../emulator/secure-connect.js'
import type { DialectHandler, ModuleContext } from '../../emulator/module.js'
import type { Response } from '../../emulator/response.js'
import type { EmuSocket } from '../../emulator/state.js'

const MAX_SOCKETS = 8
const MAX_SOCKET_BUFFER = 64 * 1024

function err(out: Response, text: string): void {
  out.raw(Buffer.from(`\r\nERROR: ${text}\r\n`, 'latin1'))
}
function ok(out: Response): void {
  out.raw(Buffer.from('\r\nOK\r\n'))
}

function failText(ctx: ModuleContext, cls: FailureClass): string {
  return (classLines(ctx.profile, cls)?.[0] ?? 'ERROR: Socket error').replace(/^ERROR:\s*/, '')
}

/** SPWF01SA FW 3.x command set, the parts tlsmatrix uses (reference §12). */
export const spwf01: DialectHandler = {
  banner(ctx) {
    const lines = [
      `+WIND:1:Poweron (${ctx.profile.build})`,
      '+WIND:13:ST SPWF01SA IWM: Copyright (c) 2012-2017 STMicroelectronics, Inc.  All rights Reserved.',
      '+WIND:3:Watchdog Running',
      '+WIND:0:Console active',
      '+WIND:32:WiFi Hardware Started',
    ]
    if (ctx.wifi) lines.push('+WIND:24:WiFi Up:192.168.0.50')
    return lines
  },

  freshRam() {
    return {
      echo: false,
      errs: 2,
      verbose: true,
      vars: new Map([
        ['localecho1', '0'],
        ['console1_speed', '115200'],
        ['console1_hwfc', '0'],
      ]),
    }
  },

  payloadLength(cmd, profile) {
    const { name, args } = splitArgs(cmd)
    // Over the store's size the upload is refused before its payload (a GUESS in the profile's notes).
    if (name === 'AT+S.TLSCERT' && args?.length === 2)
      return (Number(args[1]) || 0) <= profile.store.maxCaBytes ? Number(args[1]) || 0 : 0
    if (name === 'AT+S.SOCKW' && args?.length === 2) return Math.min(Number(args[1]) || 0, 4096)
    return 0
  },

  lineError(out) {
    err(out, 'Command not found')
  },

  async handle(cmd, payload, out, ctx) {
    const { name, args } = splitArgs(cmd)
    switch (name) {
      case 'AT':
      case 'AT&W':
      case 'AT&F':
        return ok(out)
      case 'AT+CFUN':
        ok(out)
        ctx.reboot()
        return
      case 'AT+S.STS': {
        const vars: Record<string, string> = {
          version: ctx.profile.build.replace(/-SPWF01S$/, ''),
          current_time: String(Math.floor(ctx.now().getTime() / 1000)),
          ip_ipaddr: ctx.wifi ? '192.168.0.50' : '0.0.0.0',
        }
        const wanted = args ? [args[0] ?? ''] : Object.keys(vars)
        for (const k of wanted) {
          if (!Object.hasOwn(vars, k)) return err(out, 'Variable not found')
          out.line(`#  ${k} = ${vars[k]}`)
        }
        return ok(out)
      }
      case 'AT+S.GCFG':
      case 'AT+S.SCFG': {
        const key = args?.[0] ?? ''
        if (!ctx.ram.vars.has(key)) return err(out, 'Variable not found')
        if (name === 'AT+S.GCFG') out.line(`#  ${key} = ${ctx.ram.vars.get(key)}`)
        else {
          ctx.ram.vars.set(key, args?.[1] ?? '')
          if (key === 'localecho1') ctx.ram.echo = args?.[1] !== '0'
        }
        return ok(out)
      }
      case 'AT+S.SETTIME': {
        if (!args || !/^\d{1,10}$/.test(args[0] ?? '')) return err(out, 'Invalid argument')
        ctx.setClock(new Date(Number(args[0]) * 1000))
        return ok(out)
      }
      case 'AT+S.TLSCERT2':
        if (args?.[0]?.toLowerCase() !== 'clean') return err(out, 'Invalid argument')
        Object.assign(ctx.flash, { ca: null, caSki: null, cert: null, key: null, auth: null, domain: null })
        return ok(out)
      case 'AT+S.TLSCERT': {
        const kind = args?.[0]?.toLowerCase() ?? ''
        if (!payload || !['ca', 'cert', 'key', 'f_ca', 'f_cert', 'f_key'].includes(kind))
          return err(out, 'Invalid argument')
        if (kind.endsWith('ca')) {
          if (pemBlocks(payload.toString('latin1')).length === 0) return err(out, 'Invalid certificate')
          ctx.flash.ca = payload
        }
        return ok(out)
      }
      case 'AT+S.TLSDOMAIN':
        if (!args || args.length !== 2 || !args[1]) return err(out, 'Invalid argument')
        ctx.flash.domain = args[1]
        return ok(out)
      case 'AT+S.SOCKON':
        return await sockOn(args, out, ctx)
      case 'AT+S.SOCKW': {
        const s = ctx.ram.sockets.get(args?.[0] ?? '')
        if (!s) return err(out, 'Illegal Socket ID')
        if (s.closed || !s.socket) return err(out, 'Socket error')
        s.socket.write(payload ?? Buffer.alloc(0))
        return ok(out)
      }
      case 'AT+S.SOCKQ': {
        const s = ctx.ram.sockets.get(args?.[0] ?? '')
        if (!s) return err(out, 'Illegal Socket ID')
        out.line(` DATALEN: ${s.pendingBytes}`)
        return ok(out)
      }
      case 'AT+S.SOCKR': {
        const s = ctx.ram.sockets.get(args?.[0] ?? '')
        if (!s) return err(out, 'Illegal Socket ID')
        const n = Math.min(Number(args?.[1] ?? 0) || 0, s.pendingBytes)
        const all = Buffer.concat(s.pending)
        out.raw(all.subarray(0, n))
        s.pending = [all.subarray(n)]
        s.pendingBytes -= n
        return ok(out)
      }
      case 'AT+S.SOCKC': {
        const s = ctx.ram.sockets.get(args?.[0] ?? '')
        if (!s) return err(out, 'Illegal Socket ID')
        s.socket?.destroy()
        ctx.ram.sockets.delete(s.id)
        return ok(out)
      }
      default:
        return err(out, 'Command not found')
    }
  },
}

async function sockOn(args: string[] | null, out: Response, ctx: ModuleContext): Promise<void> {
  if (!args || args.length !== 4) return err(out, 'Invalid argument')
  const [host = '', portArg = '', kind = ''] = args
  const port = Number(portArg)
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return err(out, 'Invalid argument')
  if (!ctx.wifi) return err(out, 'Wi-Fi not up')
  if (ctx.ram.sockets.size >= MAX_SOCKETS) return err(out, 'Too many sockets')
  const session = await connectAndJudge(ctx, 'SOCKON', host, port, kind === 's', ctx.flash.domain ?? host)
  if (!session.ok) return err(out, failText(ctx, session.class))
  const socket = session.socket
  let n = 0
  while (ctx.ram.sockets.has(String(n).padStart(2, '0'))) n++
  const s: EmuSocket = { id: String(n).padStart(2, '0'), socket, pending: [], pendingBytes: 0, closed: false }
  ctx.ram.sockets.set(s.id, s)
  socket.on('data', (d: Buffer) => {
    if (s.pendingBytes + d.length > MAX_SOCKET_BUFFER) return
    s.pending.push(d)
    s.pendingBytes += d.length
    ctx.indicate(`+WIND:55:Pending Data:${s.id}:${d.length}:${s.pendingBytes}`)
  })
  const onClose = () => {
    if (s.closed) return
    s.closed = true
    if (ctx.ram.sockets.get(s.id) === s) ctx.indicate(`+WIND:58:Socket Closed:${s.id}:0`)
  }
  socket.on('close', onClose)
  socket.on('error', onClose)
  out.line(` ID: ${s.id}`)
  ok(out)
}
