import { test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { APPLICATION_ID } from '../../src/store/db.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { HistoryStore, learnRunState, openDb, pruneRuns, RunStore } from '../../src/store/index.js'
import { ANCHOR, attempt, learnRun, runRow } from './learn-fixture.js'

const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-runs-')), name)

test('a schema-5 database migrates: its runs and attempts kept, every run a survey; a learn run reads back as one', () => {
  const path = tmp('schema5.db')
  const old = new Database(path)
  for (const m of MIGRATIONS.slice(0, 5)) old.exec(m)
  old.pragma('user_version = 5')
  old.pragma(`application_id = ${APPLICATION_ID}`)
  old
    .prepare(
      `INSERT INTO runs (id, started_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, rig) VALUES (?, '2026-10-01', 'complete', '0', 'h', 'x', 'y', '[]', '{}', 'rig-a')`,
    )
    .run('old-1')
  old
    .prepare(
      `INSERT INTO runs (id, started_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options) VALUES (?, '2026-10-02', 'interrupted', '0', 'h', 'x', 'y', '[]', '{}')`,
    )
    .run('old-2')
  old
    .prepare(
      `INSERT INTO attempts (run_id, device, module, firmware, target, host, port, path, anchor_sha256, anchor_subject, anchor_source, try, final, outcome, lines, body_bytes, duration_ms, transcript, recorded_at)
    VALUES ('old-1', 'd', 'SPWF04SA', '1.1.0', 'a:443', 'a', 443, '/', '-', '', '', 1, 1, 'pass', '[]', 0, 5, '[]', '')`,
    )
    .run()
  old.close()

  const db = openDb(path)
  try {
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length)
    const runs = new RunStore(db, path)
    assert.deepEqual(
      [runs.getRun('old-1')?.kind, runs.getRun('old-1')?.rig, runs.getRun('old-2')?.kind],
      ['survey', 'rig-a', 'survey'],
    )
    assert.deepEqual(
      runs.attempts('old-1').map((a) => [a.target, a.outcome]),
      [['a:443', 'pass']],
    )
    learnRun(db, path, 'learn-1')
    assert.equal(runs.getRun('learn-1')?.kind, 'learn')
    // Created without a kind, a run is a survey.
    runs.createRun(runRow('new-survey'))
    assert.equal(runs.getRun('new-survey')?.kind, 'survey')
    assert.deepEqual(db.prepare('SELECT id, kind FROM runs ORDER BY id').all(), [
      { id: 'learn-1', kind: 'learn' },
      { id: 'new-survey', kind: 'survey' },
      { id: 'old-1', kind: 'survey' },
      { id: 'old-2', kind: 'survey' },
    ])
    // A kind the code does not know is refused by the schema, not stored.
    assert.throws(() => db.prepare("UPDATE runs SET kind = 'other' WHERE id = 'old-1'").run(), /CHECK constraint/)
  } finally {
    db.close()
  }
})

test("recordAttempt returns each new attempt's id, increasing, and keeps its note", () => {
  const path = tmp('ids.db')
  const db = openDb(path)
  try {
    const ids = learnRun(db, path, 'L', {}, [
      { probe: 'p1' },
      { probe: 'p2' },
      { probe: 'p3', note: 'SHA-1 leaf under the lab root' },
    ])
    assert.equal(ids.length, 3)
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `${ids.join(',')} increase`)
    const rows = db.prepare("SELECT id, target, note FROM attempts WHERE run_id = 'L' ORDER BY id").all()
    assert.deepEqual(rows, [
      { id: ids[0], target: 'p1', note: 'probe p1' },
      { id: ids[1], target: 'p2', note: 'probe p2' },
      { id: ids[2], target: 'p3', note: 'SHA-1 leaf under the lab root' },
    ])
    // A survey's attempt still writes no note.
    const runs = new RunStore(db, path)
    runs.createRun(runRow('S'))
    const sid = runs.recordAttempt(attempt('S', 'a:443'))
    assert.ok(sid > ids[2]!)
    assert.deepEqual(db.prepare('SELECT note FROM attempts WHERE id = ?').get(sid), { note: null })
  } finally {
    db.close()
  }
})

test('learnRunState: the final attempt of each probe with its evidence; a survey or unknown id is a usage error', () => {
  const path = tmp('state.db')
  const db = openDb(path)
  try {
    const upload = { command: 'AT+S.TLSCERT=...', ski: 'ab12', lines: ['OK'] }
    const ids = learnRun(db, path, 'L', { status: 'interrupted' }, [
      { probe: 'rsa-2048', outcome: 'pass', upload },
      {
        probe: 'sha1-leaf',
        try: 1,
        final: false,
        outcome: 'not-run',
        reason: { reason: 'link', detail: 'AT_TIMEOUT' },
        lines: [],
      },
      {
        probe: 'sha1-leaf',
        try: 2,
        outcome: 'fail',
        class: 'untrusted',
        lines: ['ERROR: Certificate Error:22'],
        httpStatus: null,
      },
      {
        probe: 'rsa-8192',
        outcome: 'not-run',
        reason: { reason: 'ca-too-large', detail: '9000 bytes' },
        lines: [],
        httpStatus: null,
      },
      {
        probe: 'ecdsa-p384',
        try: 1,
        final: false,
        outcome: 'not-run',
        reason: { reason: 'link', detail: 'reboot' },
        lines: [],
      },
    ])
    const { run, probes } = learnRunState(db, 'L')
    assert.deepEqual([run.id, run.kind, run.status], ['L', 'learn', 'interrupted'])
    // The probe whose only try was retried has no final word yet: --resume asks the device again.
    assert.deepEqual([...probes.keys()], ['rsa-2048', 'sha1-leaf', 'rsa-8192'])
    // The one attempt shape every reader gets, its probe evidence with it.
    const common = {
      runId: 'L',
      device: 'd',
      module: 'SPWF04SA',
      firmware: '1.1.0',
      profile: 'spwf04sa-1.1.0',
      host: '127.0.0.1',
      port: 4433,
      path: '/',
      anchor: ANCHOR.sha256,
      anchorSubject: ANCHOR.subject,
      anchorSource: ANCHOR.source,
      final: true,
      reason: null,
      bodyBytes: 2,
      durationMs: 12,
      expect: null,
      observationId: null,
      recordedAt: '2026-11-01T00:30:00.000Z',
    }
    assert.deepEqual(probes.get('rsa-2048'), {
      ...common,
      id: ids[0],
      target: 'rsa-2048',
      try: 1,
      outcome: 'pass',
      class: null,
      lines: ['HTTP/1.1 200 OK'],
      httpStatus: 200,
      upload,
      note: 'probe rsa-2048',
      probe: { connections: [] },
    })
    assert.deepEqual(probes.get('sha1-leaf'), {
      ...common,
      id: ids[2],
      target: 'sha1-leaf',
      try: 2,
      outcome: 'fail',
      class: 'untrusted',
      lines: ['ERROR: Certificate Error:22'],
      httpStatus: null,
      upload: null,
      note: 'probe sha1-leaf',
      probe: { connections: [] },
    })
    assert.deepEqual(probes.get('rsa-8192')?.reason, { reason: 'ca-too-large', detail: '9000 bytes' })

    const runs = new RunStore(db, path)
    runs.createRun(runRow('S'))
    runs.recordAttempt(attempt('S', 'a:443'))
    assert.throws(
      () => learnRunState(db, 'S'),
      (e: Error & { code?: string }) => e.code === 'USAGE' && /run S is a survey, not a learn run/.test(e.message),
    )
    assert.throws(
      () => learnRunState(db, 'nope'),
      (e: Error & { code?: string }) => e.code === 'USAGE' && /no run nope in /.test(e.message),
    )
  } finally {
    db.close()
  }
})

test('HistoryStore reads surveys only: a newer learn run of the same firmware is no run, no latest word, no rig', () => {
  const path = tmp('history.db')
  const db = openDb(path)
  try {
    const runs = new RunStore(db, path)
    runs.createRun(
      runRow('S', {
        rig: 'rig-a',
        targets: [{ id: 'a:443', host: 'a', port: 443, path: '/', tags: [], expect: null, line: 1 }],
      }),
    )
    runs.recordAttempt(attempt('S', 'a:443', { outcome: 'fail', class: 'untrusted' }))
    // Newer, complete, same module@firmware, on another rig, and one probe named like the survey's target.
    learnRun(
      db,
      path,
      'L',
      {
        startedAt: '2026-11-02T00:00:00.000Z',
        rig: 'rig-b',
        targets: [{ id: 'p1', host: '127.0.0.1', port: 4433, path: '/', tags: [], expect: null, line: 1 }],
      },
      [{ probe: 'p1' }, { probe: 'a:443', outcome: 'pass' }],
    )
    const h = new HistoryStore(db)
    assert.deepEqual(
      h.runs().map((r) => r.id),
      ['S'],
    )
    assert.deepEqual(h.latestRuns(null), [{ target: 'a:443', module: 'SPWF04SA', firmware: '1.1.0', runId: 'S' }])
    assert.deepEqual(h.latestRuns(['L']), [])
    assert.equal(h.rigCount(), 1)
    assert.deepEqual(
      h.latestRunsPerRig(null).map((r) => r.runId),
      ['S'],
    )
    assert.deepEqual([h.runKind('S'), h.runKind('L'), h.runKind('nope')], ['survey', 'learn', null])
  } finally {
    db.close()
  }
})

test('retention never deletes a learn run, and a newer learn run does not displace the latest complete survey of its firmware', () => {
  const path = tmp('retention.db')
  const db = openDb(path)
  try {
    const runs = new RunStore(db, path)
    runs.createRun(runRow('S0', { startedAt: '2026-01-01T00:00:00.000Z' }))
    runs.recordAttempt(attempt('S0', 'a:443'))
    runs.createRun(runRow('S1', { startedAt: '2026-02-01T00:00:00.000Z' }))
    runs.recordAttempt(attempt('S1', 'a:443'))
    learnRun(db, path, 'L0', { startedAt: '2026-01-15T00:00:00.000Z' }, [{ probe: 'p1' }])
    learnRun(db, path, 'L1', { startedAt: '2026-03-01T00:00:00.000Z' }, [{ probe: 'p1' }, { probe: 'p2' }])
    const pruned = pruneRuns(db, path, { days: 30, now: new Date('2026-11-28T00:00:00.000Z'), keep: null })
    assert.deepEqual(pruned, { runs: ['S0'], attempts: 1, observations: 0 })
    assert.deepEqual(db.prepare('SELECT id FROM runs ORDER BY id').all(), [{ id: 'L0' }, { id: 'L1' }, { id: 'S1' }])
    assert.equal((db.prepare("SELECT count(*) AS n FROM attempts WHERE run_id LIKE 'L%'").get() as { n: number }).n, 3)
  } finally {
    db.close()
  }
})

test("a schema-6 database migrates: a learn probe's evidence leaves its note for a typed column, and a free-text note stays a note", () => {
  const path = tmp('schema6.db')
  const old = new Database(path)
  for (const m of MIGRATIONS.slice(0, 6)) old.exec(m)
  old.pragma('user_version = 6')
  old.pragma(`application_id = ${APPLICATION_ID}`)
  const run = old.prepare(
    `INSERT INTO runs (id, started_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, kind)
    VALUES (?, '2026-10-01', 'interrupted', '0', '-', '-', '-', '[]', ?, ?)`,
  )
  run.run(
    'L',
    JSON.stringify({
      device: 'emu:x',
      out: null,
      from: null,
      labHost: 'probe.test',
      labListen: '127.0.0.1',
      profiles: [],
    }),
    'learn',
  )
  run.run('S', '{}', 'survey')
  const hello = {
    legacyVersion: 'TLSv1.2',
    supportedVersions: null,
    cipherSuites: ['TLS_RSA_WITH_AES_128_CBC_SHA'],
    scsv: [],
    compression: [0],
    extensions: [{ type: 0, name: 'server_name' }],
    sni: 'probe.test',
    groups: [],
    signatureAlgorithms: ['rsa_pkcs1_sha256'],
    rawHex: '0100',
  }
  const connections = [
    {
      hello,
      completed: true,
      protocol: 'TLSv1.2',
      cipher: 'AES128-SHA',
      servername: 'probe.test',
      request: 'GET / HTTP/1.1',
    },
  ]
  const attempt = old.prepare(
    `INSERT INTO attempts (run_id, device, module, firmware, target, host, port, path, anchor_sha256, anchor_subject, anchor_source, try, final, outcome, lines, body_bytes, duration_ms, transcript, recorded_at, note)
    VALUES (?, 'module', 'SPWF04SA', '1.1.0', ?, '127.0.0.1', 4433, '/', '-', '', '', 1, 1, 'pass', '[]', 0, 5, '[]', '', ?)`,
  )
  attempt.run('L', 'hello', JSON.stringify({ what: 'the ClientHello', connections }))
  // Free text where learn once wrote JSON (a note edited by hand): resume used to crash on it.
  attempt.run('L', 'sni', 'checked the SNI by hand')
  // A survey's note is never evidence, even when it looks like JSON.
  attempt.run('S', 'a:443', JSON.stringify({ what: 'x', connections: [] }))
  old.close()

  const db = openDb(path)
  try {
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length)
    const { probes } = learnRunState(db, 'L')
    assert.equal(probes.get('hello')?.note, 'the ClientHello')
    assert.deepEqual(probes.get('hello')?.probe, { connections })
    assert.equal(probes.get('sni')?.note, 'checked the SNI by hand')
    assert.equal(probes.get('sni')?.probe, null)
    const survey = new RunStore(db, path).attempts('S')[0]!
    assert.deepEqual([survey.note, survey.probe], [JSON.stringify({ what: 'x', connections: [] }), null])
    // Evidence that is not what the column holds is named, not replayed as if it were.
    db.prepare(`UPDATE attempts SET probe = '{"connections": [{"hello": 1}]}' WHERE target = 'hello'`).run()
    assert.throws(
      () => learnRunState(db, 'L'),
      (e: Error & { code?: string }) =>
        e.code === 'STORE_CORRUPT' &&
        /table attempts, attempt \d+, column probe is not what it must hold/.test(e.message),
    )
  } finally {
    db.close()
  }
})
