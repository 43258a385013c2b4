import { connect } from 'node:net'
import { DeviceError } from '../errors.js'
import type { Transport } from './transport.js'

/** Raw TCP, the way lab serial servers (ser2net in raw mode) expose a module's port. */
export async function openTcp(host: string, port: number, timeoutMs = 5000): Promise<Transport> {
  const socket = connect({ host, port })
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new DeviceError('TRANSPORT_OPEN_FAILED', `tcp://${host}:${port}: no connection within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(new DeviceError('TRANSPORT_OPEN_FAILED', `tcp://${host}:${port}: ${err.message}`, { cause: err }))
    })
  })
  let closeErr: Error | undefined
  socket.on('error', (err) => {
    closeErr = err
  })
  return {
    describe: `tcp://${host}:${port}`,
    write: (data) =>
      new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve()))),
    onData: (cb) => {
      socket.on('data', cb)
    },
    onClose: (cb) => {
      socket.on('close', () => cb(closeErr))
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve()
        socket.once('close', () => resolve())
        socket.end()
        setTimeout(() => socket.destroy(), 500).unref()
      }),
  }
}
