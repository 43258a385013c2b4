import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadProfile } from '../../src/families/index.js'
import { HistoryStore, openDb, RunStore, type Db } from '../../src/store/index.js'
import { ANCHOR, attempt, learnRun, runRow } from './learn-fixture.js'

/*
 * JSON and values read back from the database go through the same schemas as the files they came
 * from, at the store boundary: a profile snapshot through the profile's schema, a run's options
 * through its kind's, its plan through the plan's; a class, reason or capture code is one of its
 * vocabulary. Nothing is cast: what is not what the column holds is named (STORE_CORRUPT, or a
 * report's unreadable row), and what an older tlsmatrix wrote still reads.
 */

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'tlsmatrix-read-back-')), name)

function withDb(name: string, fn: (db: Db, path: string, runs: RunStore) => void | Promise<void>) {
  return async () => {
    const path = tmp(name)
    const db = openDb(path)
    try {
      await fn(db, path, new RunStore(db, path))
    } finally {
      db.close()
    }
  }
}

const corrupt = (column: string) => (e: Error & { code?: string }) =>
  e.code === 'STORE_CORRUPT' && new RegExp(`column ${column} `).test(e.message)

test(
  "a profile snapshot is read with the profile's schema: what an old hand-written profile lacked reads as it was treated, a family block and a newer field pass, a wrong field is named",
  withDb('profiles.db', async (db, _path, runs) => {
    const shipped = await loadProfile('spwf04sa-1.1.0')
    const old = structuredClone(shipped) as unknown as { tls: Record<string, unknown>; store: Record<string, unknown> }
    for (const k of ['sni', 'checkValidity', 'checkHostname', 'maxCertificateBytes']) delete old.tls[k]
    delete old.store.caSlots
    runs.createRun(
      runRow('S', { profiles: { d: { ...(old as unknown as typeof shipped), futureField: 1 } as typeof shipped } }),
    )
    const snap = runs.getRun('S')!.profiles!.d!
    assert.deepEqual(
      [snap.tls.sni, snap.tls.checkValidity, snap.tls.checkHostname, snap.tls.maxCertificateBytes, snap.store.caSlots],
      [false, false, false, null, 1],
    )
    assert.deepEqual(Reflect.get(snap, 'spwf04'), { syncVariable: 'ip_apdomainname' })
    assert.equal(Reflect.get(snap, 'futureField'), 1)
    db.prepare(`UPDATE runs SET profiles = json_set(profiles, '$.d.tls.versions', json('["SSLv3"]'))`).run()
    assert.throws(() => runs.getRun('S'), corrupt('profiles'))
  }),
)

test(
  "a run's options are read with its kind's schema: --resume never takes a value the command would refuse",
  withDb('options.db', (db, _path, runs) => {
    runs.createRun(runRow('S', { options: { anchors: 'all', reportFormat: ['html'], failOn: 'regression' } }))
    assert.deepEqual(runs.getRun('S')!.options, { anchors: 'all', reportFormat: ['html'], failOn: 'regression' })
    db.prepare(`UPDATE runs SET options = '{"reportFormat": ["pdf"]}' WHERE id = 'S'`).run()
    assert.throws(() => runs.getRun('S'), corrupt('options'))
    learnRun(db, db.name, 'L')
    const learn = runs.getRun('L')!
    assert.equal(learn.kind, 'learn')
    assert.equal(learn.kind === 'learn' && learn.options.labHost, 'probe.tlsmatrix.test')
    db.prepare(`UPDATE runs SET options = json_remove(options, '$.labHost') WHERE id = 'L'`).run()
    assert.throws(() => runs.getRun('L'), corrupt('options'))
  }),
)

test(
  "a run's plan is read with the plan's schema: a skip stored before reasons were typed reads as its reason; a plan that is none is named",
  withDb('plan.db', (db, path, runs) => {
    const item = (target: string, skip: unknown) => ({
      target,
      host: 'a',
      port: 443,
      path: '/',
      expect: null,
      observationId: null,
      anchor: null,
      skip,
    })
    runs.createRun(runRow('S', { status: 'interrupted' }))
    const plan = [
      {
        device: 'd',
        groups: [{ anchor: ANCHOR, items: [{ ...item('b:443', null), anchor: ANCHOR }] }],
        skipped: [item('a:443', { note: 'ca-too-large: 5000 bytes' })],
      },
    ]
    db.prepare('UPDATE runs SET plan = ? WHERE id = ?').run(JSON.stringify(plan), 'S')
    assert.deepEqual(runs.getRun('S')!.plan![0]!.skipped[0]!.skip, { reason: 'ca-too-large', detail: '5000 bytes' })
    const history = new HistoryStore(db)
    assert.deepEqual([...history.runPlanned('S')!], [[`d\u0000b:443`, [ANCHOR.sha256]]])

    db.prepare(`UPDATE runs SET plan = json_set(plan, '$[0].groups[0].items', 'all') WHERE id = 'S'`).run()
    assert.throws(() => runs.getRun('S'), corrupt('plan'))
    const report = new HistoryStore(db)
    assert.equal(report.runPlanned('S'), null)
    assert.deepEqual(
      report.unreadable().rows.map((r) => [r.table, r.id, r.column]),
      [['runs', 'S', 'plan']],
      `${path}: the report says which plan it could not read`,
    )
  }),
)

test(
  'a class, a not-run reason or a capture error code outside its vocabulary is named, not read as one',
  withDb('vocabulary.db', (db, _path, runs) => {
    runs.createRun(runRow('S'))
    runs.recordAttempt(attempt('S', 'a:443', { outcome: 'fail', class: 'untrusted', lines: ['x'] }))
    runs.recordAttempt(
      attempt('S', 'b:443', { outcome: 'not-run', reason: { reason: 'link', detail: 'twice' }, lines: [] }),
    )
    assert.deepEqual(
      runs.attempts('S').map((a) => [a.class, a.reason?.reason ?? null]),
      [
        ['untrusted', null],
        [null, 'link'],
      ],
    )
    db.prepare(`UPDATE attempts SET class = 'cert' WHERE target = 'a:443'`).run()
    assert.throws(() => runs.attempts('S'), corrupt('class'))
    db.prepare(`UPDATE attempts SET class = 'untrusted', reason = 'flaky' WHERE target = 'a:443'`).run()
    assert.throws(() => runs.attempts('S'), corrupt('reason'))
    db.prepare(`UPDATE attempts SET reason = NULL`).run()

    const obs = db.prepare(
      `INSERT INTO observations (target, host, port, observed_at, hello, served, timings, anchors, aia_errors, run_id, error_code)
       VALUES ('a:443', 'a', 443, '2026-11-01T00:10:00.000Z', 'h', '[]', '{}', '[]', '[]', 'S', ?)`,
    )
    obs.run('tls-alert:handshake-failure')
    obs.run('flaky')
    const history = new HistoryStore(db)
    assert.deepEqual(
      [...history.runObservations('S').values()].flat().map((o) => o.errorCode),
      ['tls-alert:handshake-failure'],
    )
    assert.deepEqual(
      history.unreadable().rows.map((r) => [r.table, r.column]),
      [['observations', 'error_code']],
    )
  }),
)
