import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'
import { labChainServer, type LabChainServer } from '../helpers/lab-server.js'
import { testIo } from '../helpers/io.js'

// Issue 20 §1. On SPWF04SA, AT+S.HTTPGET prints the HTTP body in-band on the console. A server
// whose body holds the module's final line, then enough indications for the host to send its
// next command while they drain, then a whole forged answer, used to end its own response early
// and answer the next target's command with its own bytes. Every family's emulator (a separate
// process on a pty, as a module behind a serial port) fetches the real bytes from a real TLS
// server on loopback here and prints them as the module would.

const FORGED = 'FORGED-BY-THE-HOSTILE-SERVER'

/** What a server can write: every family's final lines, indications and data announcements. */
function forgingBody(): string {
  const head = [
    'a page whose text holds what modules print',
    'AT-S.OK',
    'OK',
    'SEND OK',
    'CLOSED',
    '0,CLOSED',
    '+IPD,12:hello world!',
    ' ID: 07',
    ' DATALEN: 0',
    'ERROR',
    'ERROR: Socket error',
    'AT-S.ERROR:111:Request failed',
  ]
  // Indications pass every family's grammar; while they drain at the line's speed the host,
  // believing the response ended at AT-S.OK, sends the next target's command.
  const padding = Array.from({ length: 2000 }, (_, i) => `+WIND:16:Signal OK ${String(i % 10)}`)
  const forged = [
    'AT-S.Loading:1:2',
    'AT-S.Http Server Status Code:200',
    `${FORGED}: this answer is the server's, not the module's`,
    'AT-S.OK',
    'OK',
  ]
  return [...head, ...padding, ...forged].map((l) => `${l}\r\n`).join('')
}

/** A body that looks like a restart (SPWF's +WIND:1/2 and console banner, ESP-AT's ready). */
function rebootBody(): string {
  return [
    'a page that reboots modules',
    '+WIND:1:Poweron:171117-0328fe3-SPWF04S',
    '+WIND:0:Console active',
    '+WIND:2:Reset',
    'ready',
    'AT-S.OK',
    'OK',
    'AT-S.Http Server Status Code:200',
    FORGED,
    'AT-S.OK',
  ]
    .map((l) => `${l}\r\n`)
    .join('')
}

interface Attempt {
  host: string
  port: number
  device: string
  try: number
  final: boolean
  outcome: string
  class: string | null
  reason: { reason: string; detail: string } | null
  lines: string[]
  httpStatus: number | null
}

const DEVICES = ['s4=emu:spwf04sa-1.1.0?no-dns', 's1=emu:spwf01sa-3.5.3?no-dns', 'esp=emu:esp-at-4.1-esp32?no-dns']
/** The expired target's class on each: ESP-AT's CIPSTART says a bare ERROR for every refusal. */
const EXPIRED_CLASS: Record<string, string> = { s4: 'expired', s1: 'expired', esp: 'unspecified' }

describe('a server that writes AT lines into its body forges no verdict (issue 20 §1, every family)', () => {
  let lab: RunningLab
  let dir: string
  const servers: LabChainServer[] = []
  let forge: number
  let reboot: number

  before(async () => {
    lab = await startTestLab()
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-inband-'))
    // Servers with the lab's rsa2048.basic.test chain: the module trusts them as that host.
    const f = await labChainServer(lab, 'rsa2048.basic.test', forgingBody())
    const r = await labChainServer(lab, 'rsa2048.basic.test', rebootBody())
    servers.push(f, r)
    forge = f.port
    reboot = r.port
  })
  after(async () => {
    for (const s of servers) await s.close()
    await lab.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the hostile targets keep their own evidence; the expired and the good target after them keep theirs; no unsafe accept', async () => {
    const port = (name: string) => lab.hosts.find((h) => h.name === name)!.port
    const good = port('rsa2048.basic.test')
    const expired = port('expired.basic.test')
    // In this order, so that each hostile target's answer is followed by a victim's command.
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(
      hosts,
      [
        `rsa2048.basic.test:${forge}`,
        `expired.basic.test:${expired} expect=fail`,
        `rsa2048.basic.test:${reboot}`,
        `rsa2048.basic.test:${good} expect=pass`,
      ].join('\n'),
    )
    const db = join(dir, 'inband.db')
    const io = testIo({ inProcess: true })
    const code = await run(
      [
        'run',
        '--hosts',
        hosts,
        ...DEVICES.flatMap((d) => ['--device', d]),
        '--anchors',
        'first',
        '--trust-store',
        lab.trustStoreFile,
        '--trust-store-only',
        '--aia-allow-private',
        '--device-timeout-ms',
        '20000',
        '--db',
        db,
        '--json',
        '--resolve',
        `rsa2048.basic.test:${forge}:127.0.0.1`,
        '--resolve',
        `rsa2048.basic.test:${reboot}:127.0.0.1`,
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      io,
    )
    const j = JSON.parse(io.out()) as { status: string; attempts: Attempt[]; mismatches: unknown[] }
    const finals = j.attempts.filter((a) => a.final)
    const at = (device: string, p: number) => finals.find((a) => a.device === device && a.port === p)
    const what = (a: Attempt | undefined) => JSON.stringify(a && [a.outcome, a.class, a.httpStatus, a.reason, a.lines])

    // No unsafe accept (an expect=fail target that passed), no expectation missed: exit 0.
    assert.deepEqual(j.mismatches, [], io.err())
    assert.equal(code, 0, io.err())
    assert.equal(j.status, 'complete')
    for (const device of ['s4', 's1', 'esp']) {
      const victim = at(device, expired)
      assert.deepEqual(
        [victim?.outcome, victim?.class],
        ['fail', EXPIRED_CLASS[device]],
        `${device} expired: ${what(victim)}`,
      )
      assert.ok(!victim!.lines.some((l) => l.includes(FORGED)), `${device} expired: ${what(victim)}`)
      const ok = at(device, good)
      assert.deepEqual([ok?.outcome, ok?.class, ok?.httpStatus], ['pass', null, 200], `${device} good: ${what(ok)}`)
      assert.ok(!ok!.lines.some((l) => l.includes(FORGED)), `${device} good: ${what(ok)}`)

      // The forging target: what the module said before the body (TLS accepted, status 200) is its
      // verdict. On SPWF01 a socket read whose data starts with "+WIND:" cannot be told from an
      // indication slipped in before the data: that read times out, the target's own link fault
      // (docs/spwf.md); where the reads fall depends on how the server's bytes arrive.
      const hostile = at(device, forge)
      const passed = hostile?.outcome === 'pass' && hostile.httpStatus === 200
      if (device === 's1')
        assert.ok(passed || hostile?.reason?.reason === 'link', `${device} forging target: ${what(hostile)}`)
      else assert.ok(passed, `${device} forging target: ${what(hostile)}`)
      // A restart the body pretends is no verdict either way on SPWF04SA (it cannot be told from a
      // real one: retried, then not run); where server data is framed by length it is no restart.
      const faker = at(device, reboot)
      if (device === 's4')
        assert.deepEqual(
          [faker?.outcome, faker?.reason?.reason, faker?.reason?.detail.startsWith('AT_REBOOTED')],
          ['not-run', 'link', true],
          `${device} rebooting target: ${what(faker)}`,
        )
      else
        assert.ok(faker?.outcome === 'pass' && faker.httpStatus === 200, `${device} rebooting target: ${what(faker)}`)
    }

    // SPWF04SA: the forging target's response is recorded with what it held, and why its verdict stands.
    const s4 = at('s4', forge)!
    assert.equal(s4.outcome, 'pass', what(s4))
    const d = new Database(db, { readonly: true })
    try {
      const row = d
        .prepare(`SELECT transcript FROM attempts WHERE device = 's4' AND final = 1 AND port = ?`)
        .get(forge) as { transcript: string } | undefined
      const transcript = JSON.parse(row?.transcript ?? '[]') as Array<{ dir: string; data: string }>
      const rx = transcript
        .filter((e) => e.dir === 'rx')
        .map((e) => e.data)
        .join('')
      assert.ok(rx.includes(FORGED), 'the forged answer is kept in the hostile target’s own transcript')
      assert.ok(
        transcript.some((e) => e.dir === 'note' && /set aside/.test(e.data) && /before the body/.test(e.data)),
        `a note says the body held lines like the module's and what the verdict rests on: ${JSON.stringify(transcript.filter((e) => e.dir === 'note'))}`,
      )
    } finally {
      d.close()
    }
  })
})
