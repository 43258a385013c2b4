import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { isDeviceError } from '../../src/device/index.js'
import { EMU_STATS_DIR_ENV, openEmulator } from '../../src/device/transport/emu.js'
import { parseDeviceUrl } from '../../src/device/transport/url.js'
import { testIo } from '../helpers/io.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-emu-stats-'))

test('a device URL cannot name a file to write: stats= is an unknown option, in a URL and on the command line', async () => {
  const target = join(dir, 'written-by-url.json')
  assert.throws(
    () => parseDeviceUrl(`emu:spwf04sa-1.1.0?stats=${target}`),
    (err) => isDeviceError(err, 'TRANSPORT_INVALID') && /unknown option "stats"/.test((err as Error).message),
  )
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, 'a.test:443\n')
  const io = testIo({ cwd: dir })
  const code = await run(
    ['run', '--hosts', hosts, '--db', join(dir, 'h.db'), '--device', `emu:spwf04sa-1.1.0?no-dns&stats=${target}`],
    io,
  )
  assert.equal(code, 2, io.err())
  assert.match(io.err(), /TRANSPORT_INVALID: .*unknown option "stats"/)
  assert.equal(existsSync(target), false, 'nothing written where the URL said')
  assert.equal(existsSync(join(dir, 'h.db')), false)
})

// End to end, with a process: the statistics are written by the emulator process as it exits.
test(`benchmarks get an emulator's statistics through ${EMU_STATS_DIR_ENV}, a directory the runner's environment names`, async () => {
  const stats = mkdtempSync(join(dir, 'stats-'))
  process.env[EMU_STATS_DIR_ENV] = stats
  try {
    const emu = await openEmulator({ firmware: 'spwf04sa-1.1.0', resolve: [], params: new URLSearchParams('no-dns') })
    // One command answered: the statistics then count it (the answer comes before the close).
    const answered = new Promise<void>((resolve) => {
      let seen = ''
      emu.onData((d) => {
        seen += d.toString('latin1')
        if (/OK\r?\n/.test(seen)) resolve()
      })
    })
    await emu.write(Buffer.from('AT\r'))
    await answered
    await emu.close()
  } finally {
    delete process.env[EMU_STATS_DIR_ENV]
  }
  const files = readdirSync(stats)
  assert.equal(files.length, 1, files.join())
  assert.match(files[0]!, /^spwf04sa-1\.1\.0\.[0-9a-f]{8}\.json$/)
  const s = JSON.parse(readFileSync(join(stats, files[0]!), 'utf8')) as { bytesIn: number; commands: number }
  assert.ok(s.bytesIn >= 3 && s.commands >= 1, JSON.stringify(s))
})
