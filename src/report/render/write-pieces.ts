import type { Writable } from 'node:stream'

/** Pieces are joined up to this size before a write: few syscalls, bounded memory. */
export const CHUNK_CHARS = 64 * 1024

/**
 * Writes the pieces a generator yields, joined into chunks of about CHUNK_CHARS, waiting for
 * 'drain' whenever the stream asks for it: a 100,000-cell page never exists as one string and
 * never piles up in the stream's buffer. The stream is not ended (it may be stdout).
 */
export async function writePieces(pieces: Iterable<string>, out: Writable): Promise<void> {
  let parts: string[] = []
  let size = 0
  for (const piece of pieces) {
    parts.push(piece)
    size += piece.length
    if (size >= CHUNK_CHARS) {
      await writeChunk(out, parts.join(''))
      parts = []
      size = 0
    }
  }
  if (size > 0) await writeChunk(out, parts.join(''))
}

async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new Error('the report output was closed before the page was written')
  if (!out.write(chunk, 'utf8')) await drained(out)
}

/** 'drain', or the stream's error, or its closing (which would otherwise leave us waiting forever). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      out.off('drain', onDrain)
      out.off('error', onError)
      out.off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onDrain = () => settle()
    const onError = (err: Error) => settle(err)
    const onClose = () => settle(new Error('the report output was closed before the page was written'))
    out.on('drain', onDrain)
    out.on('error', onError)
    out.on('close', onClose)
  })
}
