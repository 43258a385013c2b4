import './private-locks.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { MAIN } from './spawn-cli.js'

/** `tlsmatrix emulate --pty` as its own process, the way a module sits behind a port on a bench. */
export async function ptyEmulator(
  args: readonly string[],
): Promise<{ path: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...process.execArgv, MAIN, 'emulate', '--pty', '--exit-with-stdin', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const path = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)))
  })
  return {
    path,
    child,
    stop: async () => {
      child.stdin.end()
      // A child killed by a signal has no exit code, only a signal code: it has exited all the same.
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)))
    },
  }
}
