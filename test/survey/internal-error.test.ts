import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { isAppError } from '../../src/core/errors.js'
import { ModuleLost, ModuleStopped, type ModuleDriver } from '../../src/device/index.js'
import { familyOf, type ModuleFamily } from '../../src/families/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

let lab: RunningLab
let dir: string
before(async () => {
  lab = await startTestLab()
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-internal-'))
})
after(async () => {
  await lab.close()
  rmSync(dir, { recursive: true, force: true })
})

test('ModuleLost and ModuleStopped are AppErrors with the DEVICE_LOST and DEVICE_STOPPED codes (exit 3)', () => {
  const lost = new ModuleLost('12 link faults', { cause: new Error('x') })
  assert.ok(isAppError(lost, 'DEVICE_LOST'))
  assert.equal(lost.exitCode, 3)
  assert.ok(isAppError(new ModuleStopped(), 'DEVICE_STOPPED'))
})

/**
 * The SPWF04 driver, as the family makes it, with one piece that throws what a bug of ours
 * throws (a TypeError) at its `n`th HTTPS request; `restore` puts the family back.
 */
function bugAtRequest(n: number): { restore: () => void } {
  const family = familyOf('spwf04') as { createDriver: ModuleFamily['createDriver'] }
  const real = family.createDriver
  family.createDriver = (...args) => {
    const driver: ModuleDriver = real(...args)
    const httpsGet = driver.httpsGet.bind(driver)
    let requests = 0
    driver.httpsGet = async (req) => {
      if (++requests === n) throw new TypeError("Cannot read properties of undefined (reading 'status')")
      return await httpsGet(req)
    }
    return driver
  }
  return { restore: () => (family.createDriver = real) }
}

test('a bug of ours in device work is INTERNAL (exit 3): never a lost device, the run kept interrupted and resumable', async () => {
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(
    hosts,
    lab.hosts
      .filter((h) => ['rsa2048.basic.test', 'expired.basic.test', 'ecdsa.basic.test'].includes(h.name))
      .map((h) => `${h.name}:${h.port}`)
      .join('\n'),
  )
  const db = join(dir, 'bug.db')
  const args = [
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    '--db',
    db,
    ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
  ]
  const bug = bugAtRequest(2)
  const io = testIo()
  let code: number
  try {
    code = await run(['run', '--hosts', hosts, '--device', 'emu:spwf04sa-1.1.0?no-dns', ...args], io)
  } finally {
    bug.restore()
  }
  assert.equal(code, 3, io.err())
  assert.match(
    io.err(),
    /INTERNAL: a bug in tlsmatrix stopped run \S+ \(device spwf04sa-1\.1\.0: Cannot read properties/,
  )
  assert.doesNotMatch(io.err(), /device \S+ lost|unexpected:/)
  const runId = /--resume (\S+)/.exec(io.err())?.[1]
  assert.ok(runId, `the message names the resume command:\n${io.err()}`)

  const store = openDb(db)
  try {
    const runs = new RunStore(store, db)
    const stored = runs.getRun(runId)!
    assert.equal(stored.status, 'interrupted')
    assert.deepEqual(
      stored.devices.map((d) => d.lost),
      [null],
    )
    const attempts = runs.attempts(runId)
    assert.equal(
      attempts.filter((a) => a.reason?.reason === 'device-lost').length,
      0,
      'no work recorded as lost with the device',
    )
    assert.equal(attempts.filter((a) => a.final).length, 1, 'the verdict before the bug is kept')
  } finally {
    store.close()
  }

  // Resumed without the bug, the run finishes the rest.
  const again = testIo()
  assert.equal(await run(['run', '--resume', runId, '--db', db], again), 0, again.err())
  const after = openDb(db)
  try {
    const runs = new RunStore(after, db)
    const resumed = runs.getRun(runId)!
    assert.equal(resumed.status, 'complete')
    const planned = resumed.plan!.reduce(
      (n, p) => n + p.skipped.length + p.groups.reduce((m, g) => m + g.items.length, 0),
      0,
    )
    assert.ok(planned > 1)
    assert.equal(runs.attempts(runId).filter((a) => a.final).length, planned, 'every planned item has its verdict')
  } finally {
    after.close()
  }
})
