import './private-locks.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait.js'

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliChild {
  child: ChildProcess
  stderr(): string
  stdout(): string
  /** Resolves with the exit code, or with the signal's name when a signal ended it. */
  exited: Promise<number | string>
}

/** Runs the real CLI as a child process (`node --import tsx src/cli/main.ts …`), or `entry` instead of main.ts. */
export function spawnCli(args: readonly string[], opts: { cwd?: string; entry?: string } = {}): CliChild {
  const child = spawn(process.execPath, [...process.execArgv, opts.entry ?? MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  )
  return { child, stderr: () => err, stdout: () => out, exited }
}

/**
 * test/helpers/wait.ts's `waitFor`, bounded by `tries` polls of 50 ms as this helper was: kept only
 * for test/learn (another helper's lane, to move to `waitFor`); new code calls `waitFor`.
 */
export async function until(ready: () => boolean, what: string, tries = 1200): Promise<void> {
  await waitFor(ready, what, tries * 50)
}

/** The child's exit, or a failure after a bounded wait (a process that does not leave is the bug). */
export async function exitOf(c: CliChild, boundMs = 60_000): Promise<number | string> {
  let code: number | string | null = null
  void c.exited.then((x) => {
    code = x
  })
  try {
    await waitFor(() => code !== null, 'the process to exit by itself', boundMs)
  } catch (err) {
    c.child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}; stderr: ${c.stderr()}`)
  }
  return code!
}
