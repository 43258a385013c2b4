import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import { parse } from 'csv-parse/sync'
import type { FailureClass } from '../../src/profile/index.js'
import { CSV_COLUMNS, writeAttemptsCsv, type CsvAttempt } from '../../src/report/render/index.js'
import { HOSTILE_LINES, HOSTILE_SUBJECT, SHA_EVIL, hostileModel, releaseAll } from './render-fixture.js'

function attempt(over: Partial<CsvAttempt> = {}): CsvAttempt {
  return {
    runId: 'run-1',
    id: 7,
    device: 'old',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    target: 'www.ebay.com:443',
    host: 'www.ebay.com',
    port: 443,
    path: '/',
    anchor: SHA_EVIL,
    anchorSubject: HOSTILE_SUBJECT,
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'fail',
    class: 'handshake',
    reason: null,
    upload: null,
    observationId: null,
    profile: null,
    lines: HOSTILE_LINES,
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 1234,
    expect: null,
    recordedAt: '2026-11-28T01:00:00.000Z',
    note: null,
    probe: null,
    ...over,
  }
}

/** A sink that keeps everything written, as text. */
function collector(): Writable & { text: () => string } {
  const chunks: Buffer[] = []
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      cb()
    },
  }) as Writable & { text: () => string }
  w.text = () => Buffer.concat(chunks).toString('utf8')
  return w
}

async function csvOf(rows: CsvAttempt[]): Promise<string[][]> {
  const out = collector()
  assert.equal(await writeAttemptsCsv(hostileModel(), rows, out), rows.length)
  return parse(out.text(), { relax_column_count: false })
}

test('csv: the documented columns, one row per attempt, values as stored', async () => {
  const [header, row, row2] = await csvOf([
    attempt(),
    attempt({
      id: 8,
      outcome: 'not-run',
      class: null,
      final: false,
      reason: { reason: 'link', detail: 'no answer, twice' },
      lines: [],
      anchor: 'f'.repeat(64),
      anchorSubject: 'C=US, O=Org, CN=Fallback Name',
      httpStatus: 200,
    }),
  ])
  assert.deepEqual(header, [...CSV_COLUMNS])
  const get = (r: string[] | undefined, col: string) => r![CSV_COLUMNS.indexOf(col as (typeof CSV_COLUMNS)[number])]
  assert.equal(get(row, 'run_id'), 'run-1')
  assert.equal(get(row, 'attempt_id'), '7')
  assert.equal(get(row, 'port'), '443')
  assert.equal(get(row, 'final'), 'true')
  assert.equal(get(row, 'duration_ms'), '1234')
  // ESC, CR and LF from the module are written out: `cat attempts.csv` must not obey them.
  assert.equal(
    get(row, 'lines'),
    HOSTILE_LINES.join(' | ').replace(/^=/, "'=").replace('\x1b[2J\r\n', '\\x1b[2J\\x0d\\x0a'),
  )
  assert.equal(get(row2, 'final'), 'false')
  assert.equal(get(row2, 'reason'), 'link')
  assert.equal(get(row2, 'reason_detail'), 'no answer, twice')
  assert.equal(get(row2, 'http_status'), '200')
  // The name: the model's when it knows the certificate, else read from the subject, CN first.
  assert.equal(get(row2, 'anchor_name'), 'CN=Fallback Name, O=Org, C=US')
  assert.equal(get(row, 'anchor_subject'), HOSTILE_SUBJECT)
})

test('csv: a cell starting with =, +, -, @, tab or CR (or a full-width form) cannot run as a formula', async () => {
  const starts = ['=', '+', '-', '@', '\t', '\r', '\uff1d', '\uff0b', '\uff0d', '\uff20']
  for (const s of starts) {
    const payload = `${s}cmd|' /C calc'!A0`
    const [header, row] = await csvOf([
      attempt({
        device: payload,
        target: payload,
        anchor: 'f'.repeat(64),
        anchorSubject: payload,
        lines: [payload, 'x'],
        reason: { reason: 'link', detail: payload },
        // No store gives a class outside FAILURE_CLASSES: the CSV guards it all the same.
        class: payload as FailureClass,
      }),
    ])
    for (const col of ['device', 'target', 'anchor_subject', 'anchor_name', 'lines', 'reason_detail', 'class']) {
      const value = row![header!.indexOf(col)]!
      if (s === '\t' || s === '\r') {
        // A leading tab or CR is written out (`\x09`, `\x0d`) like every control: no formula can start.
        const shown = s === '\t' ? '\\x09' : '\\x0d'
        assert.ok(value.startsWith(`${shown}cmd`), `${JSON.stringify(s)} in ${col}: ${JSON.stringify(value)}`)
        continue
      }
      assert.equal(value[0], "'", `${JSON.stringify(s)} in ${col}: ${JSON.stringify(value)}`)
      assert.ok(value.startsWith(`'${payload}`), `${col} keeps the text after the quote: ${JSON.stringify(value)}`)
    }
  }
  // The fixture's own hostile subject (which starts with "CN=") and lines stay one cell each.
  const [, row] = await csvOf([attempt()])
  assert.equal(row!.length, CSV_COLUMNS.length)
})

test('csv: the renderer stops pulling attempts while the output is full, and resumes on drain', async () => {
  let pulled = 0
  const total = 20_000
  function* rows(): Generator<CsvAttempt> {
    for (let i = 0; i < total; i++) {
      pulled++
      yield attempt({ id: i })
    }
  }
  // A reader that takes nothing until told to: every write is held.
  const held: Array<() => void> = []
  const chunks: Buffer[] = []
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      held.push(() => cb())
    },
  })
  let finished = false
  const done = writeAttemptsCsv(null, rows(), out).then((n) => {
    finished = true
    return n
  })
  // Let it run until it stops by itself (bounded: it must stop long before the end).
  let last = -1
  for (let i = 0; i < 10_000 && pulled !== last; i++) {
    last = pulled
    for (let j = 0; j < 5; j++) await tick()
  }
  assert.equal(finished, false)
  assert.ok(pulled < 2_000, `pulled ${pulled} of ${total} rows while the reader took nothing`)
  // Now read: everything arrives.
  await releaseAll(out, held, () => finished)
  assert.equal(await done, total)
  const parsed = parse(Buffer.concat(chunks).toString('utf8'))
  assert.equal(parsed.length, total + 1)
  assert.equal(parsed[total]![1], String(total - 1))
})

test('csv: an async iterable of attempts (as a database cursor gives them)', async () => {
  async function* rows(): AsyncGenerator<CsvAttempt> {
    for (let i = 0; i < 600; i++) {
      await tick()
      yield attempt({ id: i, outcome: i % 2 ? 'pass' : 'fail' })
    }
  }
  const out = collector()
  assert.equal(await writeAttemptsCsv(null, rows(), out), 600)
  const parsed = parse(out.text())
  assert.deepEqual(
    parsed.slice(1).map((r) => Number(r[1])),
    Array.from({ length: 600 }, (_, i) => i),
  )
})

test('csv: an output that closes early rejects instead of waiting forever', async () => {
  function* rows(): Generator<CsvAttempt> {
    for (let i = 0; i < 100_000; i++) yield attempt({ id: i })
  }
  const out = new Writable({
    highWaterMark: 1024,
    write(_chunk, _enc, _cb) {
      /* never drains */
    },
  })
  const done = writeAttemptsCsv(null, rows(), out)
  await tick()
  out.destroy()
  await assert.rejects(done, /closed before the report was written/)
})

test("csv: an attempt with no CA uploaded has an empty anchor, not the formula-guarded `'-`", async () => {
  const [header, row] = await csvOf([
    attempt({
      anchor: '-',
      anchorSubject: '',
      anchorSource: '',
      outcome: 'not-run',
      reason: { reason: 'no-anchor', detail: '' },
    }),
  ])
  const get = (col: string) => row![header!.indexOf(col)]
  assert.equal(get('anchor_sha256'), '')
  assert.equal(get('anchor_name'), '')
  assert.equal(get('anchor_subject'), '')
  // A text cell that starts with `-` is still guarded: only the "no anchor" marker is left out.
  const [, guarded] = await csvOf([attempt({ reason: { reason: 'link', detail: '-1+2' } })])
  assert.equal(guarded![header!.indexOf('reason_detail')], "'-1+2")
})

test('csv: each row says which device it came from and whether it was emulated', async () => {
  const model = hostileModel()
  model.runs[0]!.devices = [
    { label: 'old', url: 'emu:spwf04sa-1.0.0?no-dns', kind: 'emu' },
    { label: 'real', url: '/dev/ttyUSB0', kind: 'serial' },
  ]
  const out = collector()
  await writeAttemptsCsv(
    model,
    [attempt(), attempt({ id: 8, device: 'real' }), attempt({ id: 9, device: 'gone' })],
    out,
  )
  const [header, ...rows] = parse(out.text())
  const at = (r: string[] | undefined, col: string) => r![header!.indexOf(col)]
  assert.deepEqual(header!.slice(-2), ['device_url', 'device_kind'])
  assert.deepEqual([at(rows[0], 'device_url'), at(rows[0], 'device_kind')], ['emu:spwf04sa-1.0.0?no-dns', 'emu'])
  assert.deepEqual([at(rows[1], 'device_url'), at(rows[1], 'device_kind')], ['/dev/ttyUSB0', 'serial'])
  // A device the run did not record: unknown, said by an empty cell, never guessed.
  assert.deepEqual([at(rows[2], 'device_url'), at(rows[2], 'device_kind')], ['', ''])
})
