import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'
import { waitFor } from '../helpers/wait.js'

interface RunJson {
  status: string
  attempts: Array<{
    host: string
    device: string
    anchor: { subject: string; source: string }
    outcome: string
    class: string | null
    lines: string[]
    final: boolean
  }>
}

function children(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'emulate'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
  } catch {
    return []
  }
}

// End to end, with processes: `npm start` as users run it, its emulators as `tlsmatrix emulate`
// processes on pseudo-terminals, and nothing of them left running after it.
test('npm start (tlsmatrix demo) reproduces the field report, and leaves nothing running', async () => {
  const io = testIo()
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-demo-'))
  const code = await run(['demo', '--db', join(dir, 'demo.db'), '--json', '--report', join(dir, 'reports')], io)
  assert.equal(code, 0, io.err())
  const j = JSON.parse(io.out()) as RunJson
  assert.equal(j.status, 'complete')
  const on = (fw: string, host: string) => j.attempts.filter((a) => a.final && a.device === fw && a.host === host)
  const passes = (fw: string, host: string) => on(fw, host).some((a) => a.outcome === 'pass')

  // SPWF04SA 1.0.0, as reported: Stack Exchange and Amazon pass …
  assert.ok(passes('spwf04sa-1.0.0', 'meta.stackexchange.com'))
  assert.ok(passes('spwf04sa-1.0.0', 'www.amazon.com'))
  // … Azure fails with Certificate Error:22, Http Client Error:2, ERROR:111 …
  const azure = on('spwf04sa-1.0.0', 'ghi-test-iot.azure-devices.net')
  assert.ok(azure.length > 0 && azure.every((a) => a.outcome === 'fail'))
  const baltimore = azure.find((a) => /Baltimore/.test(a.anchor.subject))!
  assert.deepEqual(baltimore.lines, [
    'AT-S.Certificate Error:22',
    'AT-S.Http Client Error:2',
    'AT-S.ERROR:111:Request failed',
  ])
  // … eBay fails with Http Client Error:2 and no certificate error, with the G5 root that works for Amazon …
  const ebay = on('spwf04sa-1.0.0', 'www.ebay.com')
  const g5 = ebay.find((a) => /VeriSign Class 3 Public Primary Certification Authority - G5/.test(a.anchor.subject))!
  assert.deepEqual(g5.lines, ['AT-S.Http Client Error:2', 'AT-S.ERROR:111:Request failed'])
  assert.ok(ebay.every((a) => a.outcome === 'fail' && !a.lines.some((l) => l.includes('Certificate Error'))))
  assert.ok(on('spwf04sa-1.0.0', 'www.amazon.com').some((a) => /G5/.test(a.anchor.subject) && a.outcome === 'pass'))
  // … SSL Labs fails with both roots.
  const labs = on('spwf04sa-1.0.0', 'www.ssllabs.com')
  const roots = labs.filter(
    (a) => /Entrust Root Certification Authority/.test(a.anchor.subject) && a.anchor.source === 'store',
  )
  assert.equal(roots.length, 2, labs.map((a) => a.anchor.subject).join('; '))
  assert.ok(labs.every((a) => a.outcome === 'fail'))
  // On the SPWF01SA, eBay and SSL Labs pass (with both store roots; a path-building module is
  // also given the served intermediates, which pass too).
  assert.ok(passes('spwf01sa-3.5.3', 'www.ebay.com'))
  assert.equal(
    on('spwf01sa-3.5.3', 'www.ssllabs.com').filter((a) => a.outcome === 'pass' && a.anchor.source === 'store').length,
    2,
  )
  // What 1.1.0 changes follows from its profile: ECDHE arrives, RSA-4096 stays out.
  assert.ok(passes('spwf04sa-1.1.0', 'www.ebay.com'))
  assert.ok(passes('spwf04sa-1.1.0', 'www.ssllabs.com'))
  assert.ok(!passes('spwf04sa-1.1.0', 'ghi-test-iot.azure-devices.net'))
  // The ESP32-C3 beside them (ESP-AT 3.3: TLS 1.2 with ECDHE, RSA up to 4096) reaches all five,
  // through the same SYSMFG upload and TLS socket a real one would use.
  for (const host of [
    'meta.stackexchange.com',
    'ghi-test-iot.azure-devices.net',
    'www.ebay.com',
    'www.amazon.com',
    'www.ssllabs.com',
  ]) {
    assert.ok(passes('esp-at-3.3-esp32c3', host), host)
    assert.ok(
      on('esp-at-3.3-esp32c3', host).every((a) => a.lines[0] === 'CONNECT'),
      host,
    )
  }

  // The report for docs: the HTML page and the Markdown matrix, with the 1.0.0 -> 1.1.0 diff,
  // their paths printed (on stderr with --json).
  for (const f of ['index.html', 'matrix.md'])
    assert.match(io.err(), new RegExp(`wrote .*reports/${f.replace('.', '\\.')}`))
  const md = readFileSync(join(dir, 'reports', 'matrix.md'), 'utf8')
  // (Markdown escapes `@` and `www.` so GitHub makes no links of them.)
  assert.match(md, /## Diff: `SPWF04SA@1\.0\.0` → `SPWF04SA@1\.1\.0`/)
  assert.match(md, /`www\.ebay\.com:443`/)
  assert.match(readFileSync(join(dir, 'reports', 'index.html'), 'utf8'), /<table/)

  // Every emulator the demo started is gone.
  await waitFor(() => children().length === 0, 'the emulators the demo started to exit')
})
