import { open, stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { AppError } from '../core/errors.js'
import { formatProblems, MAX_HOSTS_BYTES, parseHosts, type Target } from '../hosts/index.js'

export interface HostsFile {
  path: string
  /** The file's text as read, for the run's hash (a resumed run compares it). */
  text: string
  targets: Target[]
}

/**
 * Reads at most MAX_HOSTS_BYTES: a device or a pipe has no size to check first (/dev/zero would
 * fill memory), yet `--hosts <(grep …)` is a fair use, so the bound is applied while reading.
 */
async function readBounded(path: string, file: string): Promise<string> {
  const fh = await open(path, 'r')
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total > MAX_HOSTS_BYTES)
        throw new AppError(
          'HOSTS_INVALID',
          `${file} is more than ${MAX_HOSTS_BYTES} bytes; a hosts file may be at most ${MAX_HOSTS_BYTES} bytes`,
        )
      chunks.push(buffer.subarray(0, bytesRead))
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** Reads and parses a hosts file once; any problem is HOSTS_INVALID (exit 2) before any network I/O. */
export async function readHostsFile(file: string, cwd: string): Promise<HostsFile> {
  const path = resolvePath(cwd, file)
  let text: string
  try {
    const st = await stat(path)
    if (st.isDirectory()) throw new AppError('HOSTS_INVALID', `${file} is a directory, not a hosts file`)
    if (st.size > MAX_HOSTS_BYTES)
      throw new AppError(
        'HOSTS_INVALID',
        `${file} is ${st.size} bytes; a hosts file may be at most ${MAX_HOSTS_BYTES} bytes`,
      )
    text = await readBounded(path, file)
  } catch (err) {
    if (err instanceof AppError) throw err
    throw new AppError('HOSTS_INVALID', `${file}: ${(err as Error).message}`)
  }
  const parsed = parseHosts(text, file)
  if (parsed.problems.length > 0) {
    const n = parsed.problems.length
    throw new AppError(
      'HOSTS_INVALID',
      `${formatProblems(parsed.problems)}\n${n} problem${n === 1 ? '' : 's'} in ${file}; nothing was contacted`,
    )
  }
  if (parsed.targets.length === 0)
    throw new AppError('HOSTS_INVALID', `${file}: no targets (every line is blank or a comment)`)
  return { path, text, targets: parsed.targets }
}
