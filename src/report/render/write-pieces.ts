import type { Writable } from 'node:stream'
import { put } from './sink.js'

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
      await put(out, parts.join(''))
      parts = []
      size = 0
    }
  }
  if (size > 0) await put(out, parts.join(''))
}
