import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { hostsHash } from '../../src/jobs/hosts-change.js'
import { openDb, RunStore } from '../../src/store/index.js'
import { closedPort } from '../helpers/lab.js'
import { testIo } from '../helpers/io.js'

/** An interrupted run as a run leaves it: its options, the hosts file's hash and a plan. */
async function interruptedRun(): Promise<{ db: string; hosts: string; id: string; first: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-resume-checks-'))
  const hosts = join(dir, 'hosts.txt')
  const first = `127.0.0.1:${await closedPort()}`
  const text = `${first}\n`
  writeFileSync(hosts, text)
  const db = join(dir, 'r.db')
  const store = openDb(db)
  const id = '20261128-000000-abcd'
  new RunStore(store, db).createRun({
    id,
    label: null,
    startedAt: new Date().toISOString(),
    endedAt: null,
    status: 'interrupted',
    toolVersion: 'test',
    hostsFile: hosts,
    hostsHash: hostsHash(text),
    trustStoreHash: 'x',
    devices: [],
    plan: [
      {
        device: 'late',
        groups: [],
        skipped: [
          {
            target: first,
            host: '127.0.0.1',
            port: Number(first.split(':')[1]),
            path: '/',
            expect: null,
            observationId: null,
            anchor: null,
            skip: { reason: 'no-anchor', detail: 'no candidate anchor in the trust store' },
          },
        ],
      },
    ],
    options: {
      hosts,
      device: [`late=tcp://127.0.0.1:${await closedPort()}`],
      profiles: [],
      anchors: 'all',
      resolve: [],
      trustStore: [],
      trustStoreOnly: false,
      aiaAllowPrivate: false,
      concurrency: 4,
      timeoutMs: 2000,
      deviceTimeoutMs: 2000,
    },
  })
  store.close()
  return { db, hosts, id, first }
}

test('--resume refuses the flags it would ignore, naming them', async () => {
  const r = await interruptedRun()
  const io = testIo({ inProcess: true })
  assert.equal(
    await run(
      [
        'run',
        '--resume',
        r.id,
        '--db',
        r.db,
        '--device',
        'emu:spwf04sa-1.1.0',
        '--hosts',
        r.hosts,
        '--profiles',
        '/tmp',
      ],
      io,
    ),
    2,
  )
  assert.match(io.err(), /USAGE: --resume .* would ignore --hosts, --device, --profiles/)
})

test('--resume refuses a hosts file that changed since the run began, naming the difference; --force accepts it', async () => {
  const r = await interruptedRun()
  const added = `127.0.0.1:${await closedPort()}`
  writeFileSync(r.hosts, `${r.first} path=/other\n${added}\n`)
  const io = testIo({ inProcess: true })
  assert.equal(await run(['run', '--resume', r.id, '--db', r.db], io), 2)
  assert.match(
    io.err(),
    new RegExp(
      `HOSTS_CHANGED: .*changed since run ${r.id} began: added ${added}; changed ${r.first} \\(path=/ → path=/other\\)`,
    ),
  )
  assert.match(io.err(), /--force/)
  const io2 = testIo({ inProcess: true })
  // With --force the run goes on (its device is gone: lost, exit 3), warning what changed.
  assert.equal(await run(['run', '--resume', r.id, '--db', r.db, '--force'], io2), 3, io2.err())
  assert.match(io2.err(), /warning: .* changed since the run began \(added /)
})
