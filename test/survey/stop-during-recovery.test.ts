import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'
import { waitFor } from '../helpers/wait.js'

let lab: RunningLab
let dir: string
before(async () => {
  lab = await startTestLab()
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-stop-'))
})
after(async () => lab.close())

test('Ctrl-C while a stalled module is being reset: recovery gives up at once and the run ends interrupted', async () => {
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(
    hosts,
    lab.hosts
      .filter((h) => ['rsa2048.basic.test', 'expired.basic.test'].includes(h.name))
      .map((h) => `${h.name}:${h.port}`)
      .join('\n'),
  )
  const db = join(dir, 'stop.db')
  const io = testIo({ inProcess: true })
  // The module stops answering for good at its 9th command: every reset would wait for a banner that never comes.
  const exit = run(
    [
      'run',
      '--hosts',
      hosts,
      '--device',
      'emu:spwf04sa-1.1.0?no-dns&faults=stall@9,stallMs=600000',
      '--device-timeout-ms',
      '1000',
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--db',
      db,
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  await waitFor(() => /\] reset: /.test(io.err()), 'the worker to begin a recovery')
  io.interrupt()
  assert.equal(await exit, 3)
  assert.equal(io.err().match(/\] reset: /g)?.length, 1, `one reset began, none after Ctrl-C:\n${io.err()}`)
  const runId = /--resume (\S+)/.exec(io.err())?.[1]
  assert.ok(runId, io.err())
  const store = openDb(db)
  assert.equal(new RunStore(store, db).getRun(runId)!.status, 'interrupted')
  store.close()
})
