import type { Writable } from 'node:stream'

/**
 * Writes one chunk and, when the stream's buffer is full, waits for it to drain: a report of
 * 100,000 cells with transcripts must never sit whole in memory. Rejects when the stream errors
 * or closes before draining (a reader that went away), so a renderer never waits forever.
 */
export async function put(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new Error('report output closed before the report was written')
  if (out.write(chunk)) return
  await drained(out)
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain)
      out.off('error', onError)
      out.off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onDrain = () => done()
    const onError = (err: Error) => done(err)
    const onClose = () => done(new Error('report output closed before the report was written'))
    out.on('drain', onDrain)
    out.on('error', onError)
    out.on('close', onClose)
  })
}
