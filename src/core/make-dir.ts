import { mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * mkdir -p, bounded. Node 20's `mkdirSync(dir, { recursive: true })` spins forever when a parent
 * exists but refuses children with ENOENT (`/proc/x`: mkdir says ENOENT, the parent is there, so
 * it tries again). Here each missing level is created once, and a level that still cannot be
 * made throws its own error.
 */
export function makeDir(dir: string): void {
  try {
    mkdirSync(dir)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return
      throw err
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw err
  }
  makeDir(dirname(dir))
  // Once only: the parent is there now, so an ENOENT here is the file system refusing the name.
  try {
    mkdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir).isDirectory()) return
    throw err
  }
}
