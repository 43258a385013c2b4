import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { EMULATOR_ERROR_PREFIX } from './emulator-line.js'
import { DeviceError } from '../errors.js'
import { openSerial } from './serial.js'
import type { Transport } from './transport.js'

export interface EmulatorSpawnOptions {
  /** Profile id or JSON file for `--firmware`. */
  firmware: string
  /** --resolve HOST:PORT:ADDR entries, so lab names work for the emulated module. */
  resolve: readonly string[]
  /** --connect-to HOST:PORT:ADDR:PORT2 entries: the module is asked for HOST:PORT, the emulator connects to ADDR:PORT2. */
  connectTo?: readonly string[]
  /** --profiles directories: `emu:<id>` may name a user profile, which the emulator must find too. */
  profileDirs?: readonly string[]
  /** Extra `emulate` flags from the URL: faults, seed, clock, baud, request-timeout-ms, no-wifi, no-dns. */
  params: URLSearchParams
  /** Generous: starting node and tsx on a busy machine can take many seconds; a dead start fails sooner (exit). */
  startTimeoutMs?: number
}

/**
 * What starts the module behind an `emu:` URL and gives its line: by default `openEmulator`, a
 * `tlsmatrix emulate` process on a pseudo-terminal. Tests about logic give an in-process one
 * (src/emulator/in-process.ts, composed in src/families); either way the runner sees a Transport.
 */
export type EmulatorOpener = (opts: EmulatorSpawnOptions) => Promise<Transport>

/** URL options passed on as `emulate` flags (a Map: a key from the URL never reaches an object's prototype). */
const PARAM_FLAGS = new Map([
  ['faults', '--faults'],
  ['seed', '--seed'],
  ['clock', '--clock'],
  ['baud', '--baud'],
  ['request-timeout-ms', '--request-timeout-ms'],
])

/**
 * Benchmarks only (bench/run.ts): a directory, set in the runner's environment, where each
 * emulator the run starts writes its statistics on exit (bytes, requests, network time), as
 * `<profile>.<random>.json`. Not a device URL option: a URL comes from specs and CI configs, and
 * must not name a file to write. The file is created exclusively (no link is followed).
 */
export const EMU_STATS_DIR_ENV = 'TLSMATRIX_EMU_STATS_DIR'

/** The CLI entry of this build: src/cli/main.ts under tsx, dist/cli/main.js when built. */
function cliEntry(): string {
  const self = fileURLToPath(import.meta.url)
  return self.endsWith('.ts')
    ? fileURLToPath(new URL('../../cli/main.ts', import.meta.url))
    : fileURLToPath(new URL('../../cli/main.js', import.meta.url))
}

/** Keep module loaders (tsx when running from source); drop --inspect and the like, which would clash. */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!
    if (/^--(import|require|loader|experimental-loader)$/.test(a) && execArgv[i + 1] !== undefined)
      out.push(a, execArgv[++i]!)
    else if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a)
  }
  return out
}

/**
 * Starts `tlsmatrix emulate --pty` as a separate process and opens the pseudo-terminal it prints
 * with serialport: from here on the runner sees bytes on a serial line and nothing else. The
 * emulator exits when its stdin closes, so it never outlives the runner, even after kill -9.
 */
export async function openEmulator(opts: EmulatorSpawnOptions): Promise<Transport & { child: ChildProcess }> {
  const args = [
    ...loaderArgs(process.execArgv),
    cliEntry(),
    'emulate',
    '--firmware',
    opts.firmware,
    '--pty',
    '--exit-with-stdin',
  ]
  for (const r of opts.resolve) args.push('--resolve', r)
  for (const c of opts.connectTo ?? []) args.push('--connect-to', c)
  for (const d of opts.profileDirs ?? []) args.push('--profiles', d)
  for (const [key, value] of opts.params) {
    const flag = PARAM_FLAGS.get(key)
    if (key === 'no-wifi') args.push('--no-wifi')
    else if (key === 'no-dns') args.push('--no-dns')
    else if (flag) args.push(flag, value)
    else
      throw new DeviceError(
        'TRANSPORT_INVALID',
        `emu: unknown option "${key}" (${[...PARAM_FLAGS.keys(), 'no-wifi', 'no-dns'].join(', ')})`,
      )
  }
  const statsDir = process.env[EMU_STATS_DIR_ENV]
  if (statsDir) {
    const name = basename(opts.firmware)
      .replace(/\.json$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_')
    args.push('--stats', join(statsDir, `${name}.${randomBytes(4).toString('hex')}.json`))
  }
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString()
  })
  // The emulator's own errors become transcript notes: evidence of why a command went unanswered.
  const notes = noteRelay()
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.startsWith(EMULATOR_ERROR_PREFIX))
      notes.push(`emulator: ${line.slice(EMULATOR_ERROR_PREFIX.length).slice(0, 500)}`)
  })
  const path = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(
        new DeviceError(
          'TRANSPORT_OPEN_FAILED',
          `emulator for ${opts.firmware} did not start within ${opts.startTimeoutMs ?? 60_000} ms: ${stderr}`,
        ),
      )
    }, opts.startTimeoutMs ?? 60_000)
    const rl = createInterface({ input: child.stdout })
    rl.once('line', (line) => {
      clearTimeout(timer)
      rl.close()
      resolve(line.trim())
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(
        new DeviceError('TRANSPORT_OPEN_FAILED', `emulator for ${opts.firmware} exited with ${code}: ${stderr.trim()}`),
      )
    })
  })
  let serial: Transport
  try {
    serial = await openSerial({ path, baudRate: Number(opts.params.get('baud') ?? 115200), rtscts: false })
  } catch (err) {
    child.kill()
    throw err
  }
  let exited: string | null = null
  child.once('exit', (code, signal) => {
    exited = `emulator exited (${signal ?? code})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`
  })
  return {
    ...serial,
    describe: `emu:${opts.firmware} (${path})`,
    child,
    onNote: notes.listen,
    // When the emulator dies the pty goes away; say why instead of the bare serial error.
    onClose: (cb) => serial.onClose((err) => setTimeout(() => cb(exited ? new Error(exited) : err), 50)),
    close: async () => {
      await serial.close()
      child.stdin.end()
      // A child killed by a signal has no exit code, only a signal code: it has exited all the same.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        setTimeout(() => child.kill('SIGKILL'), 2000).unref()
        await exited
      }
    },
  }
}

/** Notes reach the listener once there is one; those from before it subscribed wait (a few at most). */
function noteRelay(): { push: (text: string) => void; listen: (cb: (text: string) => void) => void } {
  const early: string[] = []
  let listener: ((text: string) => void) | null = null
  return {
    push: (text) => {
      if (listener) listener(text)
      else if (early.length < 100) early.push(text)
    },
    listen: (cb) => {
      listener = cb
      for (const t of early.splice(0)) cb(t)
    },
  }
}
