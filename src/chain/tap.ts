import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

/**
 * A pass-through stream between a TCP socket and Node's TLS client that shows every byte the
 * server sends to `onServerBytes` before TLS consumes it. Node's own TLS socket reads the TCP
 * handle natively, so without this seam the Certificate message would be invisible.
 */
export class TapStream extends Duplex {
  /** Once set, TLS gets nothing more and its teardown leaves the TCP socket to the tap's owner. */
  private detached = false

  constructor(
    private readonly socket: Socket,
    private readonly onServerBytes: (chunk: Buffer) => void,
  ) {
    super()
    socket.on('data', (chunk: Buffer) => {
      this.onServerBytes(chunk)
      if (this.detached) return
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => {
      if (!this.detached) this.push(null)
    })
    socket.on('error', (err) => {
      if (!this.detached) this.destroy(err)
    })
    socket.on('close', () => {
      if (!this.detached) this.destroy()
    })
  }

  /**
   * Stops feeding TLS but keeps reading the server: used when Node is about to give up on a
   * message it will not accept (over OpenSSL's own size limit) while we still want its bytes.
   * Called from inside `onServerBytes`, the chunk that triggered it never reaches TLS.
   */
  detach(): void {
    this.detached = true
    this.socket.resume()
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.detached) {
      cb()
      return
    }
    this.socket.write(chunk, cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.detached) {
      cb()
      return
    }
    this.socket.end(cb)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.detached) this.socket.destroy()
    cb(err)
  }
}
