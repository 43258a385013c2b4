import { randomBytes } from 'node:crypto'
import {
  closeSync,
  createWriteStream,
  fchmodSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  type WriteStream,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'

/**
 * Files written whole or not at all, beside their final name. The temporary file is created
 * exclusively (O_CREAT|O_EXCL: an existing name, a symbolic link included, is never opened, so a
 * link planted in the directory cannot redirect the write), under a random name, readable by the
 * owner only while it is written; it gets the file's final mode just before it is renamed into
 * place. On any failure it is removed, and one left by a process that exits before it could
 * (an exception, Ctrl-C) is removed on exit.
 */

/** Temporary files not yet renamed or removed: removed when the process exits. */
const live = new Set<string>()
let hooked = false

function track(path: string): void {
  live.add(path)
  if (hooked) return
  hooked = true
  process.once('exit', () => {
    for (const p of live) removeQuietly(p)
  })
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    /* gone already */
  }
  live.delete(path)
}

/** The mode a new file gets here when nothing says otherwise: 0666 less the umask. */
function defaultMode(): number {
  // process.umask() with no argument reads it; the main thread is the only one that writes files here.
  return 0o666 & ~process.umask()
}

export interface TempOptions {
  /** The final mode (default: 0666 less the umask, as a plain write would give). */
  mode?: number
  /** Random part of the name (tests); default 8 random bytes. */
  random?: () => string
}

/** `<file>.<random>.part`, beside it (a rename stays within one file system). */
function tempPath(file: string, random: () => string): string {
  return join(dirname(file), `${basename(file)}.${random()}.part`)
}

/** Creates the temporary file exclusively, trying another random name if one is taken. */
function openTemp(file: string, random: () => string): { path: string; fd: number } {
  for (let i = 0; ; i++) {
    const path = tempPath(file, random)
    try {
      const fd = openSync(path, 'wx', 0o600)
      track(path)
      return { path, fd }
    } catch (err) {
      // Taken (by anything: a file, a link): another name. Anything else is the caller's error.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 8) throw err
    }
  }
}

const randomName = () => randomBytes(8).toString('hex')

/** Writes all of `data` to a fresh temporary file beside `file`, with its final mode, and closes it. */
function writeTemp(file: string, data: string | Uint8Array, opts: TempOptions, sync: boolean): string {
  const { path, fd } = openTemp(file, opts.random ?? randomName)
  let open = true
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off)
    fchmodSync(fd, opts.mode ?? defaultMode())
    if (sync) fsyncSync(fd)
    open = false
    closeSync(fd)
    return path
  } catch (err) {
    // Closed once only: a descriptor number closed twice may by then be another file's.
    if (open) closeSync(fd)
    removeQuietly(path)
    throw err
  }
}

/** Writes `file` whole: a reader sees the old content or the new one, never part of it. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: TempOptions = {}): void {
  const path = writeTemp(file, data, opts, true)
  try {
    renameSync(path, file)
    live.delete(path)
  } catch (err) {
    removeQuietly(path)
    throw err
  }
}

/**
 * Writes `file` only if nothing has that name yet, complete from the start (link(2) fails on an
 * existing name, and never follows one); false when something had the name.
 */
export function createFileOnceSync(file: string, data: string | Uint8Array, opts: TempOptions = {}): boolean {
  const path = writeTemp(file, data, opts, false)
  try {
    linkSync(path, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    removeQuietly(path)
  }
}

/** Checks that a file can be created beside `file` (the directory exists and takes files), writing nothing that stays. */
export function checkWritableBeside(file: string): void {
  const { path, fd } = openTemp(file, randomName)
  closeSync(fd)
  removeQuietly(path)
}

/** A file being written as a stream: `commit()` puts it in place, `abort()` removes it. */
export interface AtomicStream {
  stream: WriteStream
  /** Ends the stream, waits for every byte to be written, sets the final mode, renames into place. */
  commit(): Promise<void>
  /** Stops writing and removes the temporary file; never throws. */
  abort(): Promise<void>
}

/**
 * Opens a stream to a temporary file beside `file`. The file is open (created exclusively) before
 * this returns, so an abort right away still finds and removes it.
 */
export function createAtomicStream(file: string, opts: TempOptions = {}): AtomicStream {
  const { path, fd } = openTemp(file, opts.random ?? randomName)
  const stream = createWriteStream(path, { fd, autoClose: true })
  const done = finished(stream)
  // Observed here so a write error never goes unhandled; commit() reports it.
  done.catch(() => undefined)
  let settled = false
  return {
    stream,
    async commit() {
      if (settled) throw new Error(`${file}: already committed or aborted`)
      settled = true
      try {
        // Mode first: the stream still owns the descriptor until it ends.
        fchmodSync(fd, opts.mode ?? defaultMode())
        stream.end()
        await done
        renameSync(path, file)
        live.delete(path)
      } catch (err) {
        stream.destroy()
        await closed(stream)
        removeQuietly(path)
        throw err
      }
    },
    async abort() {
      if (settled) return
      settled = true
      stream.destroy()
      await closed(stream)
      removeQuietly(path)
    },
  }
}

/** Resolves once the stream has released its descriptor (or never had one open). */
function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}
