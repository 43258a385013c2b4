import { LinuxPortBinding } from '@serialport/bindings-cpp'

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

export function ptyLineSpeed(master: number, path: string): LineSpeed | null {
  if (process.platform !== 'linux') return null
  const binding = new LinuxPortBinding(master, { path, baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, xany: false, hupcl: false, lock: false, vmin: 1, vtime: 0 })
  return {
    read: async () => {
      try {
        return (await binding.getBaudRate()).baudRate
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
