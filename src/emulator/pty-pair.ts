import { createRequire } from 'node:module'
import nodePty from 'node-pty'

/** A pseudo-terminal pair: the emulator owns the master, a serial client opens `path` (the slave). */
export interface PtyPair {
  master: number
  slave: number
  path: string
}

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string }
}

/**
 * The only place that touches node-pty's `native` binding, which the package exports but calls
 * "not public API and could be removed at any time". Its public API spawns a child process on
 * the slave, and the emulator needs a bare pair. package.json pins node-pty exactly, and
 * test/device/pty-pair.test.ts fails with this message if an upgrade changes the binding.
 */
export function openPtyPair(): PtyPair {
  const native = (nodePty as unknown as { native?: Partial<NativePty> | null }).native
  if (!native || typeof native.open !== 'function')
    throw new Error(
      `node-pty ${nodePtyVersion()} no longer exposes native.open(cols, rows); src/emulator/pty-pair.ts must be ported`,
    )
  const r = native.open(80, 24) as Partial<{ master: number; slave: number; pty: string }>
  if (typeof r?.master !== 'number' || typeof r.slave !== 'number' || typeof r.pty !== 'string') {
    throw new Error(
      `node-pty ${nodePtyVersion()}: native.open returned ${JSON.stringify(r)}, not { master, slave, pty }; src/emulator/pty-pair.ts must be ported`,
    )
  }
  return { master: r.master, slave: r.slave, path: r.pty }
}

export function nodePtyVersion(): string {
  try {
    return (createRequire(import.meta.url)('node-pty/package.json') as { version: string }).version
  } catch {
    return '(unknown version)'
  }
}
