import type { Clock } from '../../core/clock.js'
import { emulatorErrorLine } from '../../device/transport/emulator-line.js'
import { emulateJob, type EmulateJobOptions } from '../../jobs/emulate.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'

/** `tlsmatrix emulate`'s options, one field per flag (see cli/run.ts). */
export interface EmulateOptions {
  firmware: string
  pty: boolean
  listen?: string
  resolve: string[]
  connectTo: string[]
  baud: number
  clock?: string
  wifi: boolean
  faults?: string
  seed: number
  log: boolean
  profiles: string[]
  requestTimeoutMs: number
  dns: boolean
  stats?: string
  allowRemote: boolean
  /** Exit when standard input closes (main.ts watches stdin only when this flag is given). */
  exitWithStdin: boolean
}

/**
 * `tlsmatrix emulate`: a separate process that behaves like a module on a serial line
 * (src/jobs/emulate.ts). Its first stdout line is the URL to connect to; it runs until Ctrl-C or
 * until its stdin closes (the runner that started it is gone).
 */
export async function emulateCommand(opts: EmulateOptions, io: Io, clock: Clock): Promise<void> {
  const { exitWithStdin, ...emulate } = opts
  const until = exitWithStdin ? (io.stdinClosed ?? null) : null
  await emulateJob(forwardAll<EmulateJobOptions>()(emulate), io, clock, until, (e) => {
    if (e.kind === 'url') io.stdout.write(`${e.url}\n`)
    else if (e.kind === 'said') io.stderr.write(`[emu ${e.profile}] ${e.text}\n`)
    else io.stderr.write(emulatorErrorLine(e.text))
  })
}
