import { SerialPort } from 'serialport'
import { DeviceError } from '../errors.js'
import type { Transport } from './transport.js'

export interface SerialOptions {
  path: string
  /** Default 115200, the module's factory speed (reference §1). */
  baudRate: number
  /** RTS/CTS flow control, only when the pins are wired (console_hwfc=1). */
  rtscts: boolean
}

/** A real serial port (or a pseudo-terminal) through node-serialport, 8N1. */
export async function openSerial(opts: SerialOptions): Promise<Transport> {
  const port = new SerialPort({
    path: opts.path,
    baudRate: opts.baudRate,
    rtscts: opts.rtscts,
    dataBits: 8,
    parity: 'none',
    stopBits: 1,
    // The port's own exclusive open (flock(LOCK_EX|LOCK_NB), serialport's default on Linux and
    // macOS, said here so it stays): a second tlsmatrix, whoever runs it, cannot open a port in use.
    lock: true,
    autoOpen: false,
  })
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err
        ? reject(new DeviceError('TRANSPORT_OPEN_FAILED', `${opts.path}: ${err.message}`, { cause: err }))
        : resolve(),
    ),
  )
  // A port that goes away mid-write (a pty whose module died: EIO) also emits 'error': the write's
  // own callback and 'close' report it to the channel; unheard, it would end the process.
  port.on('error', () => {})
  return {
    describe: opts.path,
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        port.write(data, (err) => (err ? reject(err) : port.drain((e) => (e ? reject(e) : resolve()))))
      }),
    onData: (cb) => {
      port.on('data', cb)
    },
    onClose: (cb) => {
      port.on('close', (err?: Error) => cb(err ?? undefined))
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve()
        port.close(() => resolve())
      }),
  }
}
