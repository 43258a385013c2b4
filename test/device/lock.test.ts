import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { isDeviceError } from '../../src/device/index.js'
import { lockDevice } from '../../src/device/lock.js'

const RACER = fileURLToPath(new URL('../helpers/lock-racer.ts', import.meta.url))

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((r) => child.once('exit', r))
  return child.pid!
}

/** Leaves a lock on `url` in `dir` as a run killed with -9 would. */
async function plantStaleLock(url: string, dir: string, pid: number): Promise<void> {
  const release = await lockDevice(url, 'killed-run', dir)
  const file = join(
    dir,
    readdirSync(dir).find((f) => f.endsWith('.lock'))!,
  )
  const holder = JSON.parse(readFileSync(file, 'utf8')) as { pid: number }
  writeFileSync(file, JSON.stringify({ ...holder, pid }))
  void release // the content changed, so it no longer releases this file: the lock stays, stale
}

const busy = (runId: string) => (err: unknown) =>
  isDeviceError(err, 'DEVICE_BUSY') && (err as Error).message.includes(`in use by run ${runId}`)

test('tcp://localhost:P and tcp://127.0.0.1:P are one device', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-'))
  const release = await lockDevice('tcp://127.0.0.1:4001', 'run-a', dir)
  await assert.rejects(lockDevice('tcp://localhost:4001', 'run-b', dir), busy('run-a'))
  await assert.rejects(lockDevice('tcp://[::ffff:127.0.0.1]:4001', 'run-b', dir), busy('run-a'))
  const other = await lockDevice('tcp://127.0.0.1:4002', 'run-b', dir)
  other()
  release()
  ;(await lockDevice('tcp://localhost:4001', 'run-b', dir))()
})

test('a serial port and a link to it are one device', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-'))
  const port = join(dir, 'ttyUSB0')
  writeFileSync(port, '')
  mkdirSync(join(dir, 'by-id'))
  const link = join(dir, 'by-id', 'usb-STMicroelectronics_STM32_STLink_0671FF-if02')
  symlinkSync(port, link)
  const release = await lockDevice(`${port}?baud=115200`, 'run-a', join(dir, 'locks'))
  await assert.rejects(lockDevice(link, 'run-b', join(dir, 'locks')), busy('run-a'))
  release()
})

test('a lock left by a dead process is taken over; a live holder is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-'))
  await plantStaleLock('tcp://127.0.0.1:4003', dir, await deadPid())
  const release = await lockDevice('tcp://127.0.0.1:4003', 'run-b', dir)
  await assert.rejects(lockDevice('tcp://127.0.0.1:4003', 'run-c', dir), busy('run-b'))
  release()
  assert.deepEqual(
    readdirSync(dir).filter((f) => !f.endsWith('.lock')),
    [],
    'no guard or temporary file left behind',
  )
})

// End to end, with processes: the race is between processes (O_EXCL files and pids across them).
test('processes racing to take over one stale lock: exactly one wins, each round', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-race-'))
  const url = 'tcp://127.0.0.1:4004'
  const rounds = 6
  const pid = await deadPid()
  for (let r = 0; r < rounds; r++) await plantStaleLock(url, join(dir, `r${r}`), pid)
  const racers = Array.from({ length: 6 }, () =>
    spawn(process.execPath, [...process.execArgv, RACER, dir, url, String(rounds)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  )
  try {
    const inbox = racers.map((c) => {
      const lines: string[] = []
      const waiters: Array<() => void> = []
      createInterface({ input: c.stdout }).on('line', (l) => {
        lines.push(l)
        for (const w of waiters.splice(0)) w()
      })
      c.once('exit', () => {
        for (const w of waiters.splice(0)) w()
      })
      const expect = async (prefix: string): Promise<string> => {
        for (;;) {
          const hit = lines.find((l) => l.startsWith(prefix))
          if (hit) return hit
          if (c.exitCode !== null) throw new Error(`racer ${c.pid} exited before "${prefix}"`)
          await new Promise<void>((r) => waiters.push(r))
        }
      }
      return { expect, lines }
    })
    for (let r = 0; r < rounds; r++) {
      await Promise.all(inbox.map((i) => i.expect(`ready ${r}`)))
      for (const c of racers) c.stdin.write(`go ${r}\n`)
      const results = await Promise.all(
        inbox.map(async (i) => {
          const won = i.expect(`won ${r}`).then((l) => l)
          const lost = i.expect(`busy ${r} `).then((l) => l)
          return await Promise.race([won, lost])
        }),
      )
      const winners = results.filter((l) => l.startsWith('won'))
      assert.equal(winners.length, 1, `round ${r}: ${results.join(' | ')}`)
      for (const l of results.filter((x) => !x.startsWith('won'))) assert.match(l, /^busy \d+ DEVICE_BUSY /, l)
    }
  } finally {
    for (const c of racers) c.stdin.end()
    await Promise.all(racers.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r))))
  }
})

test('an emu: device is private to the run that starts it: two runs take it, no lock file is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-emu-'))
  const a = await lockDevice('emu:spwf04sa-1.1.0?no-dns', 'run-a', dir)
  const b = await lockDevice('emu:spwf04sa-1.1.0?no-dns', 'run-b', dir)
  assert.deepEqual(readdirSync(dir), [])
  a()
  b()
})
