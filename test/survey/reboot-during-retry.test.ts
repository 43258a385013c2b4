import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

let lab: RunningLab
let dir: string
before(async () => {
  lab = await startTestLab()
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-reboot-'))
})
after(async () => lab.close())

test('a module that reboots during the retry is recovered before the next target, and the item is not run (link)', async () => {
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(
    hosts,
    ['rsa2048.basic.test', 'extra-cert.basic.test']
      .map((n) => `${n}:${lab.hosts.find((h) => h.name === n)!.port}`)
      .join('\n'),
  )
  // Commands as the emulator counts them (bare AT polls are not counted): 0-1 STS, 2-6 SCFG SCFG
  // TIME and the resync variable's first check (SCFG GCFG), 7 clean, 8 CA, 9 HTTPGET (dropped),
  // 10 RESET, 11-12 SCFG GCFG (the resync probe), 13-15 prepare, 16 clean, 17 CA, 18 HTTPGET
  // again (the module reboots: clock back at 2000).
  const io = testIo({ inProcess: true })
  const code = await run(
    [
      'run',
      '--hosts',
      hosts,
      '--device',
      'emu:spwf04sa-1.1.0?no-dns&faults=drop@9,reboot@18',
      '--device-timeout-ms',
      '1500',
      '--anchors',
      'first',
      // One target resolved at a time, so the device meets them in hosts-file order (the
      // command counts above), whatever the machine's load.
      '--concurrency',
      '1',
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      join(dir, 'r.db'),
      '--json',
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  assert.equal(code, 0, io.err())
  const j = JSON.parse(io.out()) as {
    attempts: Array<{
      host: string
      try: number
      final: boolean
      outcome: string
      class: string | null
      reason: { reason: string; detail: string } | null
    }>
  }
  const first = j.attempts
    .filter((a) => a.host === 'rsa2048.basic.test')
    .map((a) => [a.try, a.final, a.outcome, a.reason?.reason ?? null])
  assert.deepEqual(first, [
    [1, false, 'retried', 'link'],
    [2, true, 'not-run', 'link'],
  ])
  assert.match(j.attempts.find((a) => a.host === 'rsa2048.basic.test' && a.final)!.reason!.detail, /AT_REBOOTED/)
  // Without a recovery after the retry this would be `expired`: the module's clock is back at 2000.
  const next = j.attempts
    .filter((a) => a.host === 'extra-cert.basic.test')
    .map((a) => [a.try, a.final, a.outcome, a.class])
  assert.deepEqual(next, [[1, true, 'pass', null]])
})
