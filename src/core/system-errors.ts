import { AppError, isAppError, messageOf } from './errors.js'

/**
 * Turns whatever reached the top of a command into an AppError with a stable code. Operating
 * system errors are the user's environment (a port taken, a path that is a file), so they are
 * input errors with the system's words; anything else is a bug of ours, said plainly.
 */
export function asAppError(err: unknown): AppError {
  if (isAppError(err)) return err
  const errno = (err as NodeJS.ErrnoException | null)?.code
  const where = err as { path?: string; address?: string; port?: number } | null
  switch (errno) {
    case 'EADDRINUSE':
      return new AppError(
        'ADDRESS_IN_USE',
        `${where?.address ?? 'the address'}${where?.port !== undefined ? `:${where.port}` : ''} is already in use; pick another port or stop what holds it`,
        { cause: err },
      )
    case 'EADDRNOTAVAIL':
      return new AppError('USAGE', `${where?.address ?? 'the address'} is not an address of this machine`, {
        cause: err,
      })
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENOENT':
    case 'EACCES':
    case 'EPERM':
    case 'EEXIST':
    case 'EROFS':
      return new AppError(
        'USAGE',
        `${where?.path ?? ''}${where?.path ? ': ' : ''}${describeErrno(errno, messageOf(err))}`,
        { cause: err },
      )
    default:
      return new AppError(
        'INTERNAL',
        `internal error, please report (TLSMATRIX_DEBUG=1 shows where): ${messageOf(err)}`,
        { cause: err },
      )
  }
}

function describeErrno(errno: string, message: string): string {
  const plain: Record<string, string> = {
    ENOTDIR: 'a part of this path is a file, not a directory',
    EISDIR: 'this is a directory, a file was expected',
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'already exists',
    EROFS: 'read-only file system',
  }
  return `${plain[errno] ?? message} (${errno})`
}
