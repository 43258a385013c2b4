import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

interface ReportCell {
  host: string
  verdict: string
  notRun: { reason: string; detail: string } | null
}

describe('ESP-AT: a host name the module cannot take', { timeout: 300_000 }, () => {
  let lab: RunningLab
  let dir: string
  before(async () => {
    lab = await startTestLab('basic')
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-esp-long-'))
  })
  after(async () => {
    await lab.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test("a valid 71-character name is that target's not-run (target-refused), the device goes on", async () => {
    const port = lab.hosts.find((h) => h.name === 'rsa2048.basic.test')!.port
    // A valid DNS name (labels ≤ 63) longer than CIPSTART's 64-character host field.
    const long = `${'a'.repeat(60)}.basic.test`
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(hosts, `${long}:${port}\nrsa2048.basic.test:${port}\n`)
    const out = join(dir, 'report')
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--db',
        join(dir, 'r.db'),
        '--device',
        'c3=emu:esp-at-3.3-esp32c3?no-dns',
        '--resolve',
        `${long}:${port}:127.0.0.1`,
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
        '--report',
        out,
        '--report-format',
        'json',
      ],
      io,
    )
    assert.equal(code, 0, io.err() + io.out())
    const cells = (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { cells: ReportCell[] }).cells
    const refused = cells.find((c) => c.host === long)!
    assert.equal(refused.verdict, 'not-run')
    assert.equal(refused.notRun?.reason, 'target-refused')
    assert.match(refused.notRun.detail, /host is 71 characters, the module takes at most 64/)
    assert.equal(cells.find((c) => c.host === 'rsa2048.basic.test')!.verdict, 'pass')
  })
})
