import { isIP } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { moduleConnect } from '../../emulator/https-client.js'
import type { DialectHandler, ModuleContext } from '../../emulator/module.js'
import type { Response } from '../../emulator/response.js'
import { connectAndJudge } from '../../emulator/secure-connect.js'
import type { EmuSocket } from '../../emulator/state.js'
import { classLines, fillLine } from '../../profile/classify.js'
import type { FailureClass, FirmwareProfile } from '../../profile/profile.js'
import { freshEspFlash, PARTITIONS, type EspFlash } from './emulator-state.js'
import { MAX_HOST, splitParams, unquote } from './fields.js'
import { chipToken } from './identify.js'
import { parsePkiPartition, PKI_TYPE } from './pki-partition.js'
import { espExtras, SYSMFG_MAX_BYTES, type EspExtras } from './profile.js'

const OK = '\r\nOK\r\n'
const ERROR = '\r\nERROR\r\n'
/** OK and the input prompt: no space, no CR LF after `>` (reference §1). */
const PROMPT = Buffer.from('\r\nOK\r\n\r\n>', 'latin1')
/** SYSFLASH's write prompt is `>` alone (reference §2.2). */
const BARE_PROMPT = Buffer.from('>', 'latin1')
/** Error codes `0x01SSEEEE` (reference §1): subcategory in byte 2, extension in the low 16 bits. */
const CODE = {
  noAt: 0x01030000,
  paramLength: 0x01040000,
  paramInvalid: 0x01070000,
  unsupported: 0x01090000,
  busy: 0x010b0000,
}
const MAX_SEND = 8192
const MAX_FLASH_WRITE = 4096
/** At most 2920 bytes per +IPD (reference §3.3). */
const MAX_IPD = 2920
const LINK = '0'

const esp = (ctx: ModuleContext): EspExtras => espExtras(ctx.profile)
const flash = (ctx: ModuleContext): EspFlash => (ctx.flash.dialect ??= freshEspFlash()) as EspFlash
const syslog = (ctx: ModuleContext): boolean => ctx.ram.vars.get('syslog') === '1'

function error(out: Response, ctx: ModuleContext, code?: number): void {
  if (code !== undefined && syslog(ctx))
    out.raw(Buffer.from(`ERR CODE:0x${code.toString(16).padStart(8, '0')}\r\n`, 'latin1'))
  out.raw(Buffer.from(ERROR, 'latin1'))
}

function ok(out: Response, ...info: string[]): void {
  for (const l of info) out.line(l)
  out.raw(Buffer.from(OK, 'latin1'))
}

/** `AT+NAME=…` / `AT+NAME?` / `AT+NAME=?` / `AT+NAME`; parameters split outside quotes. */
function parse(cmd: string): { name: string; kind: 'set' | 'query' | 'test' | 'exec'; params: string[] } {
  const m = /^(AT(?:\+[A-Z_0-9]+|[A-Z]\d?)?)(=\?|\?|=)?(.*)$/.exec(cmd)
  if (!m) return { name: cmd, kind: 'exec', params: [] }
  const kind = m[2] === '=?' ? 'test' : m[2] === '?' ? 'query' : m[2] === '=' ? 'set' : 'exec'
  if (kind === 'exec' && m[3]) return { name: cmd, kind, params: [] }
  return { name: m[1]!, kind, params: kind === 'set' ? splitParams(m[3]!) : [] }
}

function int(s: string | undefined, min: number, max: number): number | null {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return null
  const n = Number(s)
  return n >= min && n <= max ? n : null
}

/** The stored CA that CIPSSLCCONF's ca_number selects, read again at every CIPSTART (reference §0.3). */
function storedCa(ctx: ModuleContext, index: number): Buffer | null {
  const f = flash(ctx)
  if (esp(ctx).caStore === 'sysmfg') return f.mfg.get('client_ca')?.get(`client_ca.${index}`)?.data ?? null
  const items = parsePkiPartition(f.partitions.get('client_ca') ?? Buffer.alloc(0))
  return items?.find((i) => i.type === PKI_TYPE.ca && i.id === index)?.content ?? null
}

/** SYSMFG write, SYSFLASH write and CIPSEND read a payload after a prompt; anything else none. */
function promptFor(cmd: string, ctx: ModuleContext): { length: number; prompt: Buffer } | null {
  const { name, kind, params } = parse(cmd)
  if (kind !== 'set') return null
  const e = esp(ctx)
  if (name === 'AT+SYSMFG' && e.caStore === 'sysmfg' && params[0] === '2' && params.length === 5) {
    const type = int(params[3], 7, 8)
    const len = int(params[4], 1, SYSMFG_MAX_BYTES)
    return type !== null && len !== null && unquote(params[1]!) && unquote(params[2]!)
      ? { length: len, prompt: PROMPT }
      : null
  }
  if (name === 'AT+SYSFLASH' && e.caStore === 'sysflash' && params[0] === '1' && params.length === 4) {
    const part = PARTITIONS.find((p) => p.name === unquote(params[1]!))
    const off = int(params[2], 0, 0xffffff)
    const len = int(params[3], 1, MAX_FLASH_WRITE)
    return part && off !== null && len !== null && off + len <= part.size ? { length: len, prompt: BARE_PROMPT } : null
  }
  if (name === 'AT+CIPSEND' && params.length === 1) {
    const len = int(params[0], 1, MAX_SEND)
    return len !== null && ctx.ram.sockets.has(LINK) ? { length: len, prompt: PROMPT } : null
  }
  return null
}

/** Espressif ESP-AT v2.x-v5.x command set (reference §1-§3, §7), what the profile's esp block says. */
export const espAt: DialectHandler = {
  lineEnd: 'crlf',
  spurious: ['WIFI DISCONNECT', 'WIFI CONNECTED', 'WIFI GOT IP', '+TIME_UPDATED'],

  banner(ctx) {
    // `\r\nready\r\n` (at_init.c); stored Wi-Fi with auto-connect follows it [I].
    return ['', 'ready', ...(ctx.wifi ? ['WIFI CONNECTED', 'WIFI GOT IP'] : [])]
  },

  freshRam() {
    return { echo: true, errs: 0, verbose: false, vars: new Map([['syslog', '0']]) }
  },

  payloadLength() {
    return 0
  },

  prompt: promptFor,

  busy(ctx) {
    return Buffer.from(
      `${syslog(ctx) ? `ERR CODE:0x${CODE.busy.toString(16).padStart(8, '0')}\r\n` : ''}\r\nbusy p...\r\n`,
      'latin1',
    )
  },

  lineError(out, ctx) {
    error(out, ctx, CODE.paramLength)
  },

  async handle(cmd, payload, out, ctx) {
    if (!cmd.startsWith('AT')) return error(out, ctx, CODE.noAt)
    const { name, kind, params } = parse(cmd)
    const e = esp(ctx)
    switch (name) {
      case 'AT':
        return kind === 'exec' ? ok(out) : error(out, ctx, CODE.unsupported)
      case 'ATE0':
      case 'ATE1':
        ctx.ram.echo = name === 'ATE1'
        return ok(out)
      case 'AT+RST':
        ok(out)
        ctx.reboot()
        return
      case 'AT+GMR': {
        const p = ctx.profile
        const built = 'Jan  1 2025 00:00:00'
        return ok(
          out,
          `AT version:${p.build}(emulator - ${chipToken(p.module)} - ${built})`,
          'SDK version:emulator',
          `compile time(emulator):${built}`,
          `Bin version:${p.firmware}(${chipToken(p.module)})`,
        )
      }
      case 'AT+SYSLOG':
        if (kind === 'query') return ok(out, `+SYSLOG:${ctx.ram.vars.get('syslog')}`)
        if (kind !== 'set' || params.length !== 1 || (params[0] !== '0' && params[0] !== '1'))
          return error(out, ctx, CODE.paramInvalid)
        ctx.ram.vars.set('syslog', params[0])
        return ok(out)
      case 'AT+SYSTIMESTAMP': {
        if (kind === 'query') return ok(out, `+SYSTIMESTAMP:${Math.floor(ctx.now().getTime() / 1000)}`)
        const t = kind === 'set' && params.length === 1 ? int(params[0], 0, 0xffffffff) : null
        if (t === null) return error(out, ctx, CODE.paramInvalid)
        ctx.setClock(new Date(t * 1000))
        return ok(out)
      }
      case 'AT+CIPSTA':
        if (kind !== 'query') return error(out, ctx, CODE.paramInvalid)
        return ok(
          out,
          `+CIPSTA:ip:"${ctx.wifi ? '192.168.0.50' : '0.0.0.0'}"`,
          `+CIPSTA:gateway:"${ctx.wifi ? '192.168.0.1' : '0.0.0.0'}"`,
          `+CIPSTA:netmask:"${ctx.wifi ? '255.255.255.0' : '0.0.0.0'}"`,
        )
      case 'AT+CWSTATE':
        // 2: connected with an address; 0: not started (reference S1 Wi-Fi commands [I]).
        if (kind !== 'query') return error(out, ctx, CODE.paramInvalid)
        return ok(out, ctx.wifi ? '+CWSTATE:2,"tlsmatrix-lab"' : '+CWSTATE:0,""')
      case 'AT+SYSMFG':
        if (e.caStore !== 'sysmfg') break
        return sysmfg(kind, params, payload, out, ctx)
      case 'AT+SYSFLASH':
        if (e.caStore !== 'sysflash') break
        return sysflash(kind, params, payload, out, ctx)
      case 'AT+CIPSSLCCONF':
        return sslConf(kind, params, out, ctx)
      case 'AT+CIPSSLCSNI':
      case 'AT+CIPSSLCCN': {
        const key = name === 'AT+CIPSSLCSNI' ? 'sni' : 'cn'
        if (kind === 'query') return ok(out, `${name.slice(2)}:"${ctx.ram.vars.get(key) ?? ''}"`)
        const v = kind === 'set' && params.length === 1 ? unquote(params[0]!) : null
        // v5.0 removed the 64-character limit (reference §6); it sends the host by default too.
        if (v === null || v === '' || (e.sniDefault === 'none' && v.length > MAX_HOST))
          return error(out, ctx, CODE.paramInvalid)
        ctx.ram.vars.set(key, v)
        return ok(out)
      }
      case 'AT+CIPSSLCCIPHER':
        if (!e.cipherCommand) break
        if (kind !== 'set' || params.length < 1 || int(params[0], 0, 32) === null)
          return error(out, ctx, CODE.paramInvalid)
        ctx.ram.vars.set('ciphers', params.slice(1).join(','))
        return ok(out)
      case 'AT+CIPSTART':
        return await cipStart(kind, params, out, ctx)
      case 'AT+CIPSEND': {
        const s = ctx.ram.sockets.get(LINK)
        if (!payload || !s?.socket) return error(out, ctx)
        s.socket.write(payload)
        out.raw(Buffer.from(`\r\nRecv ${payload.length} bytes\r\n\r\nSEND OK\r\n`, 'latin1'))
        return
      }
      case 'AT+CIPCLOSE': {
        const s = ctx.ram.sockets.get(LINK)
        if (!s) return error(out, ctx)
        ctx.ram.sockets.delete(LINK)
        s.socket?.destroy()
        out.line('CLOSED')
        return ok(out)
      }
    }
    error(out, ctx, CODE.unsupported)
  },
}

function sysmfg(kind: string, params: string[], payload: Buffer | null, out: Response, ctx: ModuleContext): void {
  const mfg = flash(ctx).mfg
  if (kind === 'query') return ok(out, ...[...mfg.keys()].map((ns) => `+SYSMFG:"${ns}"`))
  if (kind !== 'set') return error(out, ctx, CODE.paramInvalid)
  const op = params[0]
  const ns = params[1] !== undefined ? unquote(params[1]) : null
  const key = params[2] !== undefined ? unquote(params[2]) : undefined
  if (!ns || key === null) return error(out, ctx, CODE.paramInvalid | 1)
  if (op === '0') {
    if (key === undefined) mfg.delete(ns)
    else mfg.get(ns)?.delete(key)
    return ok(out)
  }
  if (op === '1') {
    const space = mfg.get(ns)
    if (!space) return error(out, ctx, CODE.paramInvalid | 1)
    if (key === undefined) return ok(out, ...[...space].map(([k, v]) => `+SYSMFG:"${ns}","${k}",${v.type}`))
    const v = space.get(key)
    if (!v) return error(out, ctx, CODE.paramInvalid | 2)
    const off = params[3] === undefined ? 0 : int(params[3], 0, v.data.length)
    const len = params[4] === undefined ? v.data.length - (off ?? 0) : int(params[4], 1, v.data.length)
    if (off === null || len === null || off + len > v.data.length) return error(out, ctx, CODE.paramInvalid | 3)
    out.raw(
      Buffer.concat([
        Buffer.from(`+SYSMFG:"${ns}","${key}",${v.type},${len},`, 'latin1'),
        v.data.subarray(off, off + len),
        Buffer.from('\r\n'),
      ]),
    )
    return ok(out)
  }
  if (op === '2' && key !== undefined && payload) {
    // No content check: the module stores any bytes (reference §2.1).
    if (!mfg.has(ns)) mfg.set(ns, new Map())
    mfg.get(ns)!.set(key, { type: Number(params[3]), data: Buffer.from(payload) })
    return ok(out)
  }
  error(out, ctx, CODE.paramInvalid | 4)
}

function sysflash(kind: string, params: string[], payload: Buffer | null, out: Response, ctx: ModuleContext): void {
  const parts = flash(ctx).partitions
  if (kind === 'query')
    return ok(
      out,
      ...PARTITIONS.map(
        (p) => `+SYSFLASH:"${p.name}",${p.type},${p.subtype},0x${p.addr.toString(16)},0x${p.size.toString(16)}`,
      ),
    )
  if (kind !== 'set') return error(out, ctx, CODE.paramInvalid)
  const part = PARTITIONS.find((p) => p.name === unquote(params[1] ?? ''))
  const data = part ? parts.get(part.name) : undefined
  if (!part || !data) return error(out, ctx, CODE.paramInvalid | 1)
  const off = params[2] === undefined ? 0 : int(params[2], 0, part.size)
  const len = params[3] === undefined ? part.size - (off ?? 0) : int(params[3], 1, part.size)
  if (off === null || len === null || off + len > part.size) return error(out, ctx, CODE.paramInvalid | 2)
  switch (params[0]) {
    case '0':
      data.fill(0xff, off, off + len)
      return ok(out)
    case '1':
      if (!payload) return error(out, ctx, CODE.paramInvalid | 3)
      // NOR flash: a write only clears bits, so a write over old data without an erase mixes them.
      for (let i = 0; i < payload.length; i++) data[off + i]! &= payload[i]!
      return ok(out)
    case '2':
      out.raw(
        Buffer.concat([Buffer.from(`+SYSFLASH:${len},`, 'latin1'), data.subarray(off, off + len), Buffer.from('\r\n')]),
      )
      return ok(out)
  }
  error(out, ctx, CODE.paramInvalid)
}

function sslConf(kind: string, params: string[], out: Response, ctx: ModuleContext): void {
  const f = flash(ctx)
  if (kind === 'query') {
    const c = f.sslConf ?? { auth: 0, pki: 0, ca: 0 }
    return ok(out, `+CIPSSLCCONF:${c.auth},${c.pki},${c.ca}`)
  }
  const auth = kind === 'set' ? int(params[0], 0, 3) : null
  const pki = params[1] === undefined || params[1] === '' ? 0 : int(params[1], 0, 255)
  const ca = params[2] === undefined || params[2] === '' ? 0 : int(params[2], 0, 255)
  if (auth === null || pki === null || ca === null || params.length > 3) return error(out, ctx, CODE.paramInvalid)
  f.sslConf = { auth, pki, ca }
  // Stored and OK all the same (reference §2.3).
  if (auth >= 2 && !storedCa(ctx, ca)) out.line('NO CA FOUND')
  ok(out)
}

/** The lines a failed CIPSTART prints: ERROR alone, `+ERRNO` first on a v5 profile with SYSLOG=1. */
function fail(out: Response, ctx: ModuleContext, cls: FailureClass, pre: string[] = []): void {
  for (const l of pre) out.line(l)
  if (esp(ctx).errno && syslog(ctx)) {
    for (const l of (classLines(ctx.profile, cls) ?? []).filter((t) => t !== 'ERROR')) out.line(fillLine(l))
  }
  out.raw(Buffer.from(ERROR, 'latin1'))
}

async function cipStart(kind: string, params: string[], out: Response, ctx: ModuleContext): Promise<void> {
  if (kind !== 'set' || params.length < 3 || params.length > 6) return error(out, ctx, CODE.paramInvalid)
  const type = unquote(params[0]!)
  const host = unquote(params[1]!)
  const port = int(params[2], 1, 65535)
  if (!type || !['TCP', 'SSL'].includes(type) || !host || host.length > MAX_HOST || port === null)
    return error(out, ctx, CODE.paramInvalid)
  if (ctx.ram.sockets.has(LINK)) {
    out.line('ALREADY CONNECTED')
    return error(out, ctx)
  }
  if (!ctx.wifi) return error(out, ctx)
  const e = esp(ctx)
  const tls = type === 'SSL'
  // The name for SNI and the certificate check (reference §7): CIPSSLCSNI, else CIPSSLCCN, else
  // (v5.0+) the host unless it is an IP literal; otherwise none, and no name is checked.
  const name =
    ctx.ram.vars.get('sni') ?? ctx.ram.vars.get('cn') ?? (e.sniDefault === 'host' && !isIP(host) ? host : null)
  const profile: FirmwareProfile = {
    ...ctx.profile,
    tls: {
      ...ctx.profile.tls,
      sni: ctx.profile.tls.sni && name !== null,
      checkHostname: ctx.profile.tls.checkHostname && name !== null,
    },
  }
  const conf = flash(ctx).sslConf
  const verify = tls && conf !== null && conf.auth >= 2
  let socket: Socket | TLSSocket
  if (!verify) {
    // auth mode 0/1: VERIFY_NONE, any chain is taken (reference §4).
    const conn = await moduleConnect(host, port, tls, profile, ctx.net)
    if (!conn.ok) return fail(out, ctx, conn.class)
    socket = conn.socket
  } else {
    const ca = storedCa(ctx, conf.ca)
    if (!ca) return fail(out, ctx, 'untrusted', ['NO CA FOUND'])
    ctx.flash.ca = ca
    // The predictor's rules, `clock` included (a clock before every certificate's start).
    const session = await connectAndJudge({ ...ctx, profile }, 'CIPSTART', host, port, true, name ?? host)
    if (!session.ok) return fail(out, ctx, session.class)
    socket = session.socket
  }
  const entry: EmuSocket = { id: LINK, socket, pending: [], pendingBytes: 0, closed: false }
  ctx.ram.sockets.set(LINK, entry)
  const mine = () => ctx.ram.sockets.get(LINK) === entry
  socket.on('data', (d: Buffer) => {
    if (!mine()) return
    for (let i = 0; i < d.length; i += MAX_IPD) {
      const part = d.subarray(i, i + MAX_IPD)
      const bytes = Buffer.concat([Buffer.from(`\r\n+IPD,${part.length}:`, 'latin1'), part])
      if (ctx.indicateRaw) ctx.indicateRaw(bytes)
    }
  })
  const closed = () => {
    if (!mine()) return
    ctx.ram.sockets.delete(LINK)
    ctx.indicate('CLOSED')
  }
  socket.on('end', closed)
  socket.on('close', closed)
  socket.on('error', closed)
  out.line('CONNECT')
  ok(out)
}
