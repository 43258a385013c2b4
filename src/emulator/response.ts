/** A command's output, built before it is put on the wire (so faults can act on it). */
export class Response {
  readonly chunks: Buffer[] = []

  line(text: string): this {
    this.chunks.push(Buffer.from(`${text}\r\n`, 'latin1'))
    return this
  }

  raw(bytes: Buffer): this {
    this.chunks.push(bytes)
    return this
  }
}
