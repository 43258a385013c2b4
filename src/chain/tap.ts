import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

/**
 * A pass-through stream between a TCP socket and Node's TLS client that shows every byte the
 * server sends to `onServerBytes` before TLS consumes it. Node's own TLS socket reads the TCP
 * handle natively, so without this seam the Certificate message would be invisible.
 */
export class TapStream extends Duplex {
  constructor(
    private readonly socket: Socket,
    private readonly onServerBytes: (chunk: Buffer) => void,
  ) {
    super()
    socket.on('data', (chunk: Buffer) => {
      this.onServerBytes(chunk)
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('error', (err) => this.destroy(err))
    socket.on('close', () => this.destroy())
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy()
    cb(err)
  }
}
