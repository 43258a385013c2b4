/**
 * A process that races for a device lock (test/device/lock.test.ts). For each round it prints
 * `ready <r>`, waits for `go <r>` on stdin, tries the lock and prints `won <r>` or
 * `busy <r> <code> <message>`. It keeps what it won until its stdin closes.
 */
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { lockDevice } from '../../src/device/lock.js'

const [dir = '', url = '', roundsArg = '1'] = process.argv.slice(2)
const rounds = Number(roundsArg)
const lines = createInterface({ input: process.stdin })
const queue: string[] = []
let ended = false
const closed = () => ended
lines.on('close', () => {
  ended = true
})
let wake: (() => void) | null = null
lines.on('line', (l) => {
  queue.push(l)
  wake?.()
})
// Stdin closed: the test is done. Nothing else keeps the process alive, so it exits and its locks go stale.
lines.on('close', () => {
  wake?.()
})
const next = async (): Promise<string> => {
  while (queue.length === 0) {
    if (closed()) return ''
    await new Promise<void>((r) => {
      wake = r
    })
  }
  return queue.shift()!
}

async function main(): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    process.stdout.write(`ready ${r}\n`)
    for (;;) {
      const l = await next()
      if (l === `go ${r}`) break
      if (closed()) return
    }
    try {
      await lockDevice(url, `racer-${process.pid}`, join(dir, `r${r}`))
      process.stdout.write(`won ${r}\n`)
    } catch (err) {
      process.stdout.write(`busy ${r} ${(err as { code?: string }).code ?? '?'} ${(err as Error).message}\n`)
    }
  }
}
void main()
