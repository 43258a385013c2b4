import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { loadProfile, validateProfile } from '../../src/families/index.js'
import { compareLearned } from '../../src/learn/index.js'
import { testIo } from '../helpers/io.js'
import { exitOf, spawnCli, until } from '../helpers/spawn-cli.js'

// The module's own time-out: short enough for the stall probe, long enough for a busy machine's handshakes.
const DEVICE = 'emu:spwf04sa-1.1.0?request-timeout-ms=5000'

/** The emulator a learn process started for its emu: device (its child running `emulate`). */
function emulatorOf(pid: number): number | null {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
  const line = out.split('\n').find((l) => l.includes(' emulate '))
  return line ? Number(line.trim().split(/\s+/)[0]) : null
}

describe('tlsmatrix learn: bad input, a lost module, Ctrl-C, a small budget', { timeout: 1_800_000 }, () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-cli-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('inputs are checked before anything is opened (exit 2, no database, no profile)', async () => {
    const db = join(dir, 'never.db')
    for (const [args, message] of [
      [['--device', 'emu:no-such-firmware'], /no-such-firmware/],
      [['--device', DEVICE, '--lab-host', 'bad name!'], /--lab-host/],
      [['--device', DEVICE, '--lab-listen', 'localhost'], /--lab-listen/],
      [['--device', DEVICE, '--from', 'no-such-profile'], /no-such-profile/],
      [['--device', DEVICE, '--out', dir], /is a directory/],
      [['--device', DEVICE, '--budget-minutes', '0'], /budget-minutes/],
      [['--device', DEVICE, '--resume', 'nope'], /no database|cannot be resumed/],
    ] as Array<[string[], RegExp]>) {
      const io = testIo({ cwd: dir })
      assert.equal(await run(['learn', ...args, '--db', db], io), 2, `${args.join(' ')}: ${io.err()}`)
      assert.match(io.err(), message)
      assert.equal(existsSync(db), false, `${args.join(' ')} created no database`)
    }
  })

  describe('a device that is not a known module', () => {
    let server: Server
    let port = 0
    before(async () => {
      // Answers every line with OK and nothing else: an AT modem, not an SPWF module.
      server = createServer((s) => {
        s.on('data', () => s.write('\r\nOK\r\n'))
        s.on('error', () => {})
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      port = (server.address() as { port: number }).port
    })
    after(async () => {
      await new Promise((r) => server.close(r))
    })

    test('is refused with the module unknown, no profile written, no learn run left running', async () => {
      const db = join(dir, 'unknown.db')
      const out = join(dir, 'unknown.json')
      const io = testIo({ cwd: dir })
      const code = await run(['learn', '--device', `tcp://127.0.0.1:${port}`, '--db', db, '--out', out], io)
      assert.notEqual(code, 0)
      assert.match(io.err(), /DEVICE_UNKNOWN|not a known module|no answer|version/i)
      assert.equal(existsSync(out), false)
      if (existsSync(db)) {
        const sql = new Database(db, { readonly: true })
        const running = sql.prepare("SELECT count(*) AS n FROM runs WHERE status = 'running'").get() as { n: number }
        sql.close()
        assert.equal(running.n, 0)
      }
    })
  })

  test('a module that goes away mid-learn: exit 3 with the resume command; --resume asks only what is left and ends with the same profile', async () => {
    const db = join(dir, 'lost.db')
    const out = join(dir, 'lost.json')
    const c = spawnCli(['learn', '--device', DEVICE, '--db', db, '--out', out])
    // Kill the module (its emulator process) once the trust probes have begun.
    await until(() => /key\.intermediate\./.test(c.stderr()), 'the first key probes', 6000)
    const emu = emulatorOf(c.child.pid!)
    assert.ok(emu, 'learn runs its emulator as a child process')
    process.kill(emu, 'SIGKILL')
    assert.equal(await exitOf(c), 3, c.stderr())
    const hint = /tlsmatrix learn --resume (\S+)/.exec(c.stderr())
    assert.ok(hint, c.stderr())
    const runId = hint[1]!
    assert.equal(existsSync(out), false, 'no profile from a learn that did not finish')
    const before = new Database(db, { readonly: true })
    const status = (before.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status
    const done = (
      before.prepare('SELECT count(*) AS n FROM attempts WHERE run_id = ? AND final = 1').get(runId) as { n: number }
    ).n
    before.close()
    assert.equal(status, 'device-lost')
    assert.ok(done >= 5, `${done} probes kept`)

    const io = testIo({ cwd: dir })
    assert.equal(await run(['learn', '--resume', runId, '--device', DEVICE, '--db', db], io), 0, io.err())
    assert.match(io.err(), new RegExp(`resumed: ${done} probes already done`))
    assert.match(io.err(), /\[from the earlier session\]/)
    const learned = validateProfile(JSON.parse(readFileSync(out, 'utf8')), out)
    assert.deepEqual(compareLearned(learned, await loadProfile('spwf04sa-1.1.0')), [])
    const sql = new Database(db, { readonly: true })
    const twice = sql
      .prepare('SELECT target, count(*) AS n FROM attempts WHERE run_id = ? AND final = 1 GROUP BY target HAVING n > 1')
      .all(runId)
    const end = (sql.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status
    sql.close()
    assert.deepEqual(twice, [], 'no probe asked twice')
    assert.equal(end, 'complete')
  })

  test('Ctrl-C stops after the probe in flight: exit 3, the run kept as interrupted, the resume command printed', async () => {
    const db = join(dir, 'int.db')
    const c = spawnCli(['learn', '--device', DEVICE, '--db', db, '--out', join(dir, 'int.json')])
    await until(() => /baseline: /.test(c.stderr()), 'the baseline probe', 6000)
    c.child.kill('SIGINT')
    assert.equal(await exitOf(c), 3, c.stderr())
    assert.match(c.stderr(), /tlsmatrix learn --resume \S+/)
    const sql = new Database(db, { readonly: true })
    const r = sql.prepare("SELECT status, kind FROM runs WHERE kind = 'learn'").get() as {
      status: string
      kind: string
    }
    sql.close()
    assert.deepEqual(r, { status: 'interrupted', kind: 'learn' })
  })

  test('a budget too small: a partial profile that says which fields are unknown, still valid for the loader', async () => {
    const db = join(dir, 'budget.db')
    const out = join(dir, 'budget.json')
    const io = testIo({ cwd: dir })
    assert.equal(
      await run(['learn', '--device', DEVICE, '--db', db, '--out', out, '--budget-minutes', '0.02', '--json'], io),
      0,
      io.err(),
    )
    const p = validateProfile(JSON.parse(readFileSync(out, 'utf8')), out)
    const unknown = p.learned!.unknown.map((u) => u.field)
    assert.ok(unknown.includes('store.maxCaBytes') && unknown.includes('tls.maxChainBytes'), unknown.join(', '))
    // Never measured by learn at all (it sets the clock; these modules print their own lines per class).
    const never = new Set(['errors.clock', 'errors.unspecified'])
    for (const u of p.learned!.unknown) {
      if (!never.has(u.field)) assert.match(u.why, /budget/, u.field)
      assert.equal(p.learned!.fields[u.field]?.method, 'assumed')
      assert.ok(
        p.notes.some((n) => n.startsWith(`GUESS: ${u.field} was not measured`)),
        u.field,
      )
    }
    // What it did measure is still right.
    assert.deepEqual(compareLearned(p, await loadProfile('spwf04sa-1.1.0')), [])
    const j = JSON.parse(io.out()) as { partial: string | null }
    assert.equal(j.partial, 'budget')
  })
})
