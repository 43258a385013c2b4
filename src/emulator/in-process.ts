import { CertCache } from '../chain/index.js'
import type { Clock } from '../core/clock.js'
import type { Transport } from '../device/transport/transport.js'
import type { ResolveMap } from '../hosts/index.js'
import type { FirmwareProfile } from '../profile/profile.js'
import { EmulatedModule, type DialectHandler } from './module.js'
import type { EmulatorSettings } from './settings.js'

export interface InProcessEmulatorOptions {
  profile: FirmwareProfile
  /** The command set of the profile's dialect (its family's emulator handler, given by the caller). */
  dialect: DialectHandler
  settings: EmulatorSettings
  resolveMap: ResolveMap
  clock: Clock
  /** What the transport calls itself (an `emu:` URL's describe). */
  describe: string
}

/**
 * The emulated module in this process, behind the same `Transport` a serial port gives: the runner
 * writes bytes and reads bytes, and nothing else passes (no side channel, no shortcut past the
 * module's parser). For tests about logic rather than processes: no `node` to start, no
 * pseudo-terminal, and no pacing at the baud rate. Bytes still arrive on a later turn of the event
 * loop, in order, as from a port; those sent before anyone listens wait, as in a port's buffer
 * (the boot banner). The emulator's own failures become notes, as the `emu:` process's stderr
 * lines do. `tlsmatrix run --device emu:…` keeps starting `tlsmatrix emulate` as a process.
 */
export function openInProcessEmulator(opts: InProcessEmulatorOptions): Transport {
  const s = opts.settings
  const onData: Array<(chunk: Buffer) => void> = []
  const onClose: Array<(err?: Error) => void> = []
  let onNote: ((text: string) => void) | null = null
  const earlyNotes: string[] = []
  let closed = false

  // One queue each way, emptied on a later turn: order is kept, and no write is answered inside it.
  const toRunner: Buffer[] = []
  let toRunnerScheduled = false
  const flushToRunner = () => {
    toRunnerScheduled = false
    if (closed || onData.length === 0) return
    for (const chunk of toRunner.splice(0)) for (const cb of onData) cb(chunk)
  }
  const scheduleToRunner = () => {
    if (toRunnerScheduled) return
    toRunnerScheduled = true
    setImmediate(flushToRunner)
  }

  const module = new EmulatedModule({
    profile: opts.profile,
    dialect: opts.dialect,
    clock: opts.clock,
    rtcAtBoot: s.rtcAtBoot,
    wifi: s.wifi,
    net: {
      resolveMap: opts.resolveMap,
      dnsOff: s.dnsOff,
      clock: opts.clock,
      timeoutMs: s.requestTimeoutMs,
      cache: new CertCache(),
    },
    faults: s.faults,
    seed: s.seed,
    output: (bytes) => {
      if (closed || bytes.length === 0) return
      toRunner.push(Buffer.from(bytes))
      scheduleToRunner()
    },
    log: () => {},
    error: (msg) => {
      // As the emu: process's stderr line reaches the transcript (transport/emu.ts): one line, bounded.
      const text = `emulator: ${msg.replace(/[\r\n]+/g, ' ').slice(0, 500)}`
      if (onNote) onNote(text)
      else if (earlyNotes.length < 100) earlyNotes.push(text)
    },
  })
  module.boot()

  return {
    describe: opts.describe,
    write: (data) => {
      if (closed) return Promise.reject(new Error(`${opts.describe} is not open`))
      const bytes = Buffer.from(data)
      setImmediate(() => {
        if (!closed) module.receive(bytes)
      })
      return Promise.resolve()
    },
    onData: (cb) => {
      onData.push(cb)
      if (toRunner.length > 0) scheduleToRunner()
    },
    onClose: (cb) => {
      onClose.push(cb)
    },
    onNote: (cb) => {
      onNote = cb
      for (const t of earlyNotes.splice(0)) cb(t)
    },
    // Nothing to wait for; the executor turns a throw (a close callback's) into a rejection, as before.
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve()
        closed = true
        toRunner.length = 0
        module.powerOff()
        // As a serial port reports its own close.
        for (const cb of onClose) cb()
        resolve()
      }),
  }
}
