import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { closedPort, startTestLab } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'
import { tcpEmulator } from '../helpers/tcp-emulator.js'
import { gatedLabTargets, RequestGate } from '../helpers/lab-server.js'
import { waitFor } from '../helpers/wait.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function finals(dbPath: string): number {
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare('SELECT count(*) n FROM attempts WHERE final = 1').get() as { n: number }).n
    } finally {
      db.close()
    }
  } catch {
    return 0
  }
}

function planSize(dbPath: string, runId: string): number {
  const db = openDb(dbPath)
  const plan = new RunStore(db, dbPath).getRun(runId)!.plan!
  db.close()
  return plan.reduce((n, p) => n + p.skipped.length + p.groups.reduce((m, g) => m + g.items.length, 0), 0)
}

function verdictRows(dbPath: string): Array<{ id: number; k: string }> {
  const db = new Database(dbPath, { readonly: true })
  const rows = db
    .prepare(
      "SELECT id, device || '|' || target || '|' || anchor_sha256 AS k FROM attempts WHERE final = 1 ORDER BY id",
    )
    .all() as Array<{ id: number; k: string }>
  db.close()
  return rows
}

function pids(parent: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(parent), '-f', 'emulate'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Lab hosts served behind a request gate: chains that pass, fail in the handshake, or need AIA. */
const GATED = ['rsa2048', 'cross', 'aia', 'expired', 'out-of-order', 'extra-cert', 'many-sans'].map(
  (n) => `${n}.basic.test`,
)

describe('interruptions: kill -9, Ctrl-C, device faults', () => {
  let lab: RunningLab
  let dir: string
  let hosts: string
  const common = (hostsFile = hosts, resolve: string[] = []) => [
    '--hosts',
    hostsFile,
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    '--aia-allow-private',
    ...[...resolve, ...lab.resolveEntries].flatMap((e) => ['--resolve', e]),
  ]
  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-resume-'))
    hosts = join(dir, 'hosts.txt')
    const pick = [
      'rsa2048',
      'rsa4096-int',
      'ecdsa',
      'cross',
      'aia',
      'expired',
      'out-of-order',
      'extra-cert',
      'many-sans',
    ].map((n) => `${n}.basic.test`)
    writeFileSync(
      hosts,
      lab.hosts
        .filter((h) => pick.includes(h.name))
        .map((h) => `${h.name}:${h.port}`)
        .join('\n'),
    )
  })
  after(async () => lab.close())

  // End to end: the runner is a process of its own, killed -9, and its emulator process must not outlive it.
  test('kill -9 in the middle, then --resume: one verdict each, none lost, none redone', async () => {
    const db = join(dir, 'kill.db')
    // Every target's requests wait at one gate after the first three: the run is mid-way, however fast the machine.
    const gate = new RequestGate(3)
    const targets = await gatedLabTargets(lab, GATED, gate)
    try {
      const gatedHosts = join(dir, 'kill-hosts.txt')
      writeFileSync(gatedHosts, targets.hostsText)
      const child = spawn(
        process.execPath,
        [
          ...process.execArgv,
          MAIN,
          'run',
          ...common(gatedHosts, targets.resolve),
          '--device',
          'emu:spwf04sa-1.1.0?no-dns',
          '--db',
          db,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      await waitFor(
        () => (finals(db) >= 3 && gate.held() > 0) || child.exitCode !== null,
        'three verdicts, then a request held',
      )
      assert.ok(finals(db) >= 3 && gate.held() > 0, `the run got going and waits at the gate: ${stderr}`)
      const runId = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(stderr)?.[1]
      assert.ok(runId, stderr)

      const emulators = pids(child.pid!)
      assert.ok(emulators.length > 0, 'the run started an emulator')
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
      await waitFor(() => !emulators.some(alive), 'the emulator to exit')
      assert.ok(!emulators.some(alive), 'the emulator did not outlive its runner')

      const recorded = verdictRows(db)
      assert.ok(recorded.length < planSize(db, runId), 'killed before the end')
      gate.open()
      const io = testIo({ inProcess: true })
      const code = await run(['run', '--resume', runId, '--db', db, '--json'], io)
      assert.equal(code, 0, io.err())
      const after = verdictRows(db)
      assert.equal(after.length, planSize(db, runId), 'every planned verdict is there')
      assert.equal(new Set(after.map((r) => r.k)).size, after.length, 'none doubled')
      assert.deepEqual(after.slice(0, recorded.length), recorded, 'what was recorded before the kill was not redone')
    } finally {
      await targets.close()
    }
  })

  test('Ctrl-C lets the current attempt finish, marks the run interrupted, and says how to resume', async () => {
    const db = join(dir, 'ctrlc.db')
    // Two requests answered, the third held at the gate until Ctrl-C has been taken.
    const gate = new RequestGate(2)
    const targets = await gatedLabTargets(lab, GATED, gate)
    try {
      const gatedHosts = join(dir, 'ctrlc-hosts.txt')
      writeFileSync(gatedHosts, targets.hostsText)
      // The stop grace outlasts any machine: the attempt in flight ends because its answer comes.
      const io = testIo({ inProcess: true, stopGraceMs: 600_000 })
      const exit = run(
        ['run', ...common(gatedHosts, targets.resolve), '--device', 'emu:spwf04sa-1.0.0?no-dns', '--db', db],
        io,
      )
      await waitFor(() => gate.held() > 0, 'a request held at the gate')
      io.interrupt()
      await waitFor(() => /stopping:/.test(io.err()), 'the stop to be taken')
      gate.open()
      assert.equal(await exit, 3)
      const runId = /--resume (\S+)/.exec(io.err())?.[1]
      assert.ok(runId, io.err())
      const store = openDb(db)
      const runs = new RunStore(store, db)
      assert.equal(runs.getRun(runId)!.status, 'interrupted')
      const answered = runs.attempts(runId).filter((a) => a.final && a.outcome === 'pass').length
      store.close()
      assert.equal(gate.passed(), 3, 'nothing new started after Ctrl-C')
      assert.equal(answered, 3, 'the request in flight at Ctrl-C got its verdict')
      const done = finals(db)
      assert.ok(done < planSize(db, runId))
      const io2 = testIo({ inProcess: true })
      assert.equal(await run(['run', '--resume', runId, '--db', db], io2), 0, io2.err())
      assert.equal(finals(db), planSize(db, runId))
    } finally {
      await targets.close()
    }
  })

  test('a device missing at the start is lost, the others go on, and --resume plans and runs it when it is back', async () => {
    const db = join(dir, 'lost.db')
    const port = await closedPort()
    const io = testIo({ inProcess: true })
    assert.equal(
      await run(
        [
          'run',
          ...common(),
          '--device',
          `late=tcp://127.0.0.1:${port}`,
          '--device',
          'emu:spwf04sa-1.1.0?no-dns',
          '--db',
          db,
        ],
        io,
      ),
      3,
    )
    assert.match(io.out(), /device late not opened \(--resume tries it again\): tcp:\/\/127\.0\.0\.1:\d+/)
    // Its cells say it never opened (it was not lost mid-way).
    assert.match(io.out(), /^rsa2048\.basic\.test:\d+ +device not opened +pass/m)
    const runId = /--resume (\S+)/.exec(io.err())![1]!
    // The module comes back, on the port the run was given for it (a serial server, in this process).
    const emulator = await tcpEmulator('spwf01sa-3.5.3', { port, resolve: lab.resolveEntries, params: 'no-dns' })
    try {
      const io2 = testIo({ inProcess: true })
      assert.equal(await run(['run', '--resume', runId, '--db', db], io2), 0, io2.out() + io2.err())
      assert.equal(finals(db), planSize(db, runId))
      const store = openDb(db)
      const devices = new RunStore(store, db)
        .getRun(runId)!
        .plan!.map((p) => p.device)
        .sort()
      store.close()
      assert.deepEqual(devices, ['late', 'spwf04sa-1.1.0'])
    } finally {
      await emulator.close()
    }
  })

  test('an emulator with faults still yields a complete run, the faults recorded as device tries', async () => {
    const db = join(dir, 'faults.db')
    const io = testIo({ inProcess: true })
    // Faults at fixed commands (polls are not counted), so the same commands are hit however busy the
    // machine is: a dropped and a damaged answer (each costs a plain command's time-out of silence,
    // so only one of each), three restarts, which land in attempts (retried), and stray indications.
    // The timeout only has to outlast a healthy request.
    const code = await run(
      [
        'run',
        ...common(),
        '--device',
        'emu:spwf04sa-1.1.0?no-dns&faults=drop@20,corrupt@35,reboot@45,reboot@60,reboot@75,wind=0.3',
        '--device-timeout-ms',
        '10000',
        '--db',
        db,
        '--json',
      ],
      io,
    )
    assert.equal(code, 0, io.err())
    const j = JSON.parse(io.out()) as {
      runId: string
      status: string
      attempts: Array<{ final: boolean; class: string | null; try: number }>
    }
    assert.equal(j.status, 'complete')
    assert.equal(j.attempts.filter((a) => a.final).length, planSize(db, j.runId))
    const retried = j.attempts.filter((a) => !a.final && a.class === 'device')
    assert.ok(retried.length > 0, 'some faults hit an attempt and were retried')
  })
})
