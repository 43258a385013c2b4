import { createRequire } from 'node:module'

/**
 * A pseudo-terminal has no wire, so bytes sent at one speed arrive intact at any other: an emulator
 * at 9600 baud would answer a client that opened its port at 115200, and a wrong `?baud=` would go
 * unnoticed until a real module. On Linux the master side of a pty reads the slave's termios
 * (TCGETS2 on the master reports the speed the client set), so the emulator can see what a real
 * UART would feel: a speed mismatch. It then garbles the bytes both ways, as a real line does. The
 * client learns nothing beside the line: it only sees garbage.
 */
export interface LineSpeed {
  /** The speed the client set on its end, or null when it cannot be read (not Linux, no client yet). */
  read(): Promise<number | null>
}

type GetBaudRate = (fd: number) => Promise<{ baudRate: number }>

/**
 * serialport's own TCGETS2 call, taken without its port object: LinuxPortBinding would put an fd
 * poller on the master, whose clean-up removes the fd from the event loop under the emulator's
 * stream. Not public API: when it moves, the emulator says so and keeps a speed-blind line.
 */
function getBaudRate(): GetBaudRate | null {
  try {
    const lib = createRequire(import.meta.url)('@serialport/bindings-cpp/dist/load-bindings.js') as {
      asyncGetBaudRate?: unknown
    }
    return typeof lib.asyncGetBaudRate === 'function' ? (lib.asyncGetBaudRate as GetBaudRate) : null
  } catch {
    return null
  }
}

export function ptyLineSpeed(master: number, warn: (msg: string) => void): LineSpeed | null {
  if (process.platform !== 'linux') return null
  const get = getBaudRate()
  if (!get) {
    warn(
      '@serialport/bindings-cpp no longer exposes getBaudRate: the pty line speed is not checked (src/emulator/line-speed.ts must be ported)',
    )
    return null
  }
  return {
    read: async () => {
      try {
        return (await get(master)).baudRate
      } catch {
        return null
      }
    },
  }
}

/** UARTs sample within a few percent of the nominal rate; beyond that a byte is misread. */
export function speedsMismatch(emulator: number, client: number): boolean {
  return Math.abs(client - emulator) / emulator > 0.03
}

/**
 * What a UART at the wrong speed reads: framing errors and high-bit noise. Never CR or LF, so no
 * garbled byte ends a line and nothing read at the wrong speed looks like an answer.
 */
export function garble(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length)
  for (let i = 0; i < b.length; i++) out[i] = 0x80 | ((b[i]! * 37 + 0x5b) & 0x7f)
  return out
}
