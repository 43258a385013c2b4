import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'
import { ptyEmulator } from '../helpers/pty-emulator.js'

const DEVICE = 'emu:spwf04sa-1.1.0?request-timeout-ms=5000'

describe('tlsmatrix learn as a new user tries it', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-user-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('--out where no file can be written is refused before the module is asked (exit 2, no database)', async () => {
    const db = join(dir, 'never.db')
    const io = testIo({ cwd: dir })
    assert.equal(await run(['learn', '--device', DEVICE, '--db', db, '--out', '/proc/learned.json'], io), 2, io.err())
    assert.match(io.err(), /--out \/proc\/learned\.json: cannot/)
    assert.equal(existsSync(db), false)
  })
})

describe('the text table', () => {
  test('a value cut to fit its column ends with an ellipsis', async () => {
    const { learnText } = await import('../../src/cli/output/learn-text.js')
    const { loadProfile } = await import('../../src/families/index.js')
    const base = await loadProfile('spwf04sa-1.1.0', [])
    const p = {
      ...base,
      learned: {
        tool: 't',
        runId: 'r',
        device: 'd',
        at: 'x',
        base: base.id,
        cost: { uploads: 0, requests: 0, deviceMs: 0 },
        fields: {},
        unknown: [],
        facts: {},
      },
    }
    const row = learnText(p as never, base, '/x.json', { stoppedBy: null } as never)
      .split('\n')
      .find((l) => l.startsWith('tls.cipherSuites'))!
    assert.match(row, /…/)
    assert.doesNotMatch(row, /TLS_ECDHE_ECDSA_WITH_AES_256_ /)
  })
})

describe('--lab-host', () => {
  test('CR/LF in the name never reach the terminal raw; an address is refused with what to give instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-host-'))
    try {
      const db = join(dir, 'never.db')
      let io = testIo({ cwd: dir })
      assert.equal(await run(['learn', '--device', DEVICE, '--db', db, '--lab-host', 'a\r\nb.test'], io), 2)
      assert.doesNotMatch(io.err().trimEnd(), /[\r\n]/)
      io = testIo({ cwd: dir })
      assert.equal(await run(['learn', '--device', DEVICE, '--db', db, '--lab-host', '192.168.1.20'], io), 2)
      assert.match(io.err(), /not an address.*--lab-listen/)
      assert.equal(existsSync(db), false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('an emulator on a pty the user started', { timeout: 300_000 }, () => {
  test('that cannot reach the lab: exit 2, the error says what to give, the learn run is not left running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-pty-'))
    const emu = await ptyEmulator(['--firmware', 'spwf04sa-1.1.0', '--no-dns'])
    try {
      const db = join(dir, 'l.db')
      const io = testIo({ cwd: dir })
      assert.equal(
        await run(['learn', '--device', emu.path, '--db', db, '--out', join(dir, 'p.json')], io),
        2,
        io.err(),
      )
      assert.match(io.err(), /LEARN_LAB_UNREACHABLE/)
      assert.match(io.err(), /--lab-host localhost/)
      const h = new Database(db, { readonly: true })
      const runs = h.prepare('SELECT status FROM runs').all() as Array<{ status: string }>
      h.close()
      assert.equal(runs.length, 1)
      assert.notEqual(runs[0]!.status, 'running')
      assert.equal(existsSync(join(dir, 'p.json')), false)
    } finally {
      await emu.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
