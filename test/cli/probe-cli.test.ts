import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

describe('tlsmatrix probe (CLI)', () => {
  let lab: RunningLab
  before(async () => {
    lab = await startTestLab()
  })
  after(async () => lab.close())
  const target = (h: string) => `${h}:${lab.hosts.find((x) => x.name === h)!.port}`
  const resolveArgs = () => lab.resolveEntries.flatMap((e) => ['--resolve', e])

  test("identifies an emulated module, uploads the CA, and prints the module's own lines", async () => {
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'probe',
        '--device',
        'emu:spwf04sa-1.0.0?no-dns',
        '--ca',
        lab.trustStoreFile,
        '--target',
        target('rsa4096-int.basic.test'),
        ...resolveArgs(),
      ],
      io,
    )
    assert.equal(code, 1, io.err())
    assert.match(io.out(), /SPWF04SA firmware 1\.0\.0 build 170216-fd39c59-SPWF04S/)
    assert.match(io.out(), /fail \(key-unsupported\)/)
    assert.match(
      io.out(),
      /AT-S\.Certificate Error:22\n {2}AT-S\.Http Client Error:2\n {2}AT-S\.ERROR:111:Request failed/,
    )
  })

  test('--json carries the attempt and its transcript', async () => {
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'probe',
        '--device',
        'emu:spwf04sa-1.1.0?no-dns',
        '--ca',
        lab.trustStoreFile,
        '--target',
        `${target('rsa2048.basic.test')}/index`,
        '--json',
        ...resolveArgs(),
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const j = JSON.parse(io.out()) as {
      firmware: string
      attempt: { outcome: string; httpStatus: number; transcript: Array<{ dir: string; data: string }> }
    }
    assert.equal(j.firmware, '1.1.0')
    assert.equal(j.attempt.outcome, 'pass')
    assert.equal(j.attempt.httpStatus, 200)
    assert.ok(
      j.attempt.transcript.some((e) => e.dir === 'tx' && e.data.startsWith('AT+S.HTTPGET=rsa2048.basic.test,/index,')),
    )
  })

  test("an ESP-AT module: no key id claimed, a bare ERROR is a fail (exit 1) with the module's line", async () => {
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'probe',
        '--device',
        'emu:esp-at-4.1-esp32?no-dns',
        '--ca',
        lab.trustStoreFile,
        '--target',
        target('wrong-host.basic.test'),
        ...resolveArgs(),
      ],
      io,
    )
    assert.equal(code, 1, io.err())
    assert.match(io.out(), /ESP32 firmware 4\.1\.1 build 4\.1\.1\.0/)
    assert.match(io.out(), /CA uploaded \(this firmware reports no key id\)/)
    assert.doesNotMatch(io.out(), /SubjectKeyId/)
    assert.match(io.out(), /fail \(unspecified\)[^\n]*\n {2}ERROR\n/)
  })

  // End to end, with a process: the emulator process must be given the --profiles directories.
  test('emu:<id> of a user profile in --profiles: the emulator process finds it too (it was PROFILE_NOT_FOUND in data/firmware, exit 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-probe-profiles-'))
    try {
      const shipped = JSON.parse(readFileSync(join('data', 'firmware', 'esp-at-3.3-esp32c3.json'), 'utf8')) as Record<
        string,
        unknown
      >
      writeFileSync(join(dir, 'bench-c3.json'), JSON.stringify({ ...shipped, id: 'bench-c3' }))
      const io = testIo()
      assert.equal(await run(['probe', '--device', 'emu:bench-c3', '--profiles', dir], io), 0, io.err())
      assert.match(io.out(), /^emu:bench-c3: ESP32-C3 firmware 3\.3\.0 build 3\.3\.0\.0 \(profile bench-c3\)$/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a port that does not exist and a bad URL are usage errors (exit 2) with the reason', async () => {
    const io = testIo({ inProcess: true })
    assert.equal(await run(['probe', '--device', '/dev/ttyNOPE0'], io), 2)
    assert.match(io.err(), /TRANSPORT_INVALID: "\/dev\/ttyNOPE0": \/dev\/ttyNOPE0 does not exist/)
    const io2 = testIo({ inProcess: true })
    assert.equal(await run(['probe', '--device', 'ttyUSB0'], io2), 2)
    assert.match(io2.err(), /expected a serial device path/)
  })
})
