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
  module: string
  firmware: string
  verdict: string
  class: string | null
  lines: string[]
  why: string[]
  predicted: string
  predictedClass: string | null
  disagree: boolean
}
interface Report {
  firmware: Array<{ module: string; firmware: string }>
  cells: ReportCell[]
}

/** A survey with an SPWF04SA and two ESP-AT modules side by side, as a bench with both would run it. */
async function survey(lab: RunningLab, dir: string, name: string): Promise<Report & { printed: string }> {
  const out = join(dir, name)
  // Every lab host but stall.basic.test, which only waits out the resolution time-out (10 s) here;
  // what a run records for it is test/survey/not-run-reasons.test.ts's.
  const hosts = join(dir, `${name}-hosts.txt`)
  writeFileSync(
    hosts,
    readFileSync(lab.hostsFile, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('stall.basic.test:'))
      .join('\n'),
  )
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
      join(dir, `${name}.db`),
      '--device',
      'spwf=emu:spwf04sa-1.0.0?no-dns',
      '--device',
      'c3=emu:esp-at-3.3-esp32c3?no-dns',
      '--device',
      'c5=emu:esp-at-5.0-esp32c5?no-dns&request-timeout-ms=5000',
      ...lab.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      '--report',
      out,
      '--report-format',
      'json,md',
    ],
    io,
  )
  assert.ok(code === 0 || code === 1, io.err())
  return { ...(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report), printed: io.out() }
}

describe('ESP-AT beside the SPWF04SA in one survey', { timeout: 900_000 }, () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-esp-survey-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('the field report: one matrix with columns for both families; the ESP-AT modules reach what SPWF04SA 1.0.0 cannot', async () => {
    const lab = await startTestLab('field-report')
    try {
      const r = await survey(lab, dir, 'field')
      assert.deepEqual(r.firmware.map((f) => `${f.module}@${f.firmware}`).sort(), [
        'ESP32-C3@3.3.0',
        'ESP32-C5@5.0.0',
        'SPWF04SA@1.0.0',
      ])
      const cell = (host: string, module: string) => r.cells.find((c) => c.host === host && c.module === module)!
      // eBay wants ECDHE: SPWF04SA 1.0.0 offers RSA key exchange only; mbedTLS offers ECDHE.
      assert.equal(cell('www.ebay.com', 'SPWF04SA').verdict, 'fail')
      assert.equal(cell('www.ebay.com', 'ESP32-C3').verdict, 'pass')
      // Azure's RSA-4096 intermediate: refused by the SPWF04SA, taken by mbedTLS.
      assert.equal(cell('ghi-test-iot.azure-devices.net', 'SPWF04SA').class, 'key-unsupported')
      assert.equal(cell('ghi-test-iot.azure-devices.net', 'ESP32-C5').verdict, 'pass')
      for (const c of r.cells)
        assert.equal(
          c.disagree,
          false,
          `${c.module} ${c.host}: predicted ${c.predicted}/${c.predictedClass}, observed ${c.verdict}/${c.class}`,
        )
    } finally {
      await lab.close()
    }
  })

  test('the basic lab: ESP-AT 3.3 says only ERROR and the why comes from the prediction; 5.0 names the class with +ERRNO', async () => {
    const lab = await startTestLab('basic')
    try {
      const r = await survey(lab, dir, 'basic')
      const failed = (module: string) => r.cells.filter((c) => c.module === module && c.verdict === 'fail')
      const c3 = failed('ESP32-C3')
      assert.ok(c3.length >= 4, `${c3.length} failures on ESP32-C3`)
      for (const c of c3) {
        // The module said only ERROR …
        assert.equal(c.class, 'unspecified', `${c.host}: ${c.class}`)
        assert.deepEqual(
          c.lines.filter((l) => l !== 'CONNECT'),
          ['ERROR'],
        )
        // … and the report says why, from the profile and the served chain, without calling it a disagreement.
        assert.ok(c.why.length > 0 && !c.why.some((w) => /gives no reason/.test(w)), `${c.host}: ${c.why.join(' | ')}`)
        assert.equal(c.disagree, false, c.host)
        assert.equal(
          c.why[0],
          `the module said only that it failed; predicted from its profile and the served chain: ${c.predictedClass}`,
          c.host,
        )
        assert.ok(c.predictedClass && c.predictedClass !== 'unspecified', c.host)
      }
      const why = (host: string) => r.cells.find((x) => x.host === host && x.module === 'ESP32-C3')!.why.join(' ')
      assert.match(why('expired.basic.test'), /expired/)
      assert.match(why('wrong-host.basic.test'), /names other\.basic\.test, not wrong-host\.basic\.test/)
      // The run's own summary says where the reason is, under each bare ERROR.
      const printed = r.printed.split('\n')
      const bare = printed.flatMap((l, i) =>
        /^c3 .*: unspecified$/.test(l) ? [printed.slice(i + 1, i + 5).join('\n')] : [],
      )
      assert.ok(
        bare.length >= 4 &&
          bare.every((b) => b.includes('the module said only that it failed; tlsmatrix report predicts why')),
        r.printed,
      )
      // untrusted-root.basic.test serves a root in no trust store: left out, and counted apart from what did not run.
      assert.match(
        r.printed,
        /verdicts \(pass\/fail\), \d+ not run, 3 CA\(s\) not uploaded \(served root in no trust store\), recorded in /,
      )
      const c5 = failed('ESP32-C5')
      assert.ok(
        c5.some((c) => c.class === 'expired' && c.lines.includes('+ERRNO:0x1')),
        JSON.stringify(c5.map((c) => [c.host, c.class, c.lines])),
      )
      assert.ok(c5.some((c) => c.class === 'hostname' && c.lines.includes('+ERRNO:0x4')))
      assert.ok(c5.every((c) => c.class !== 'unspecified'))
    } finally {
      await lab.close()
    }
  })
})
