import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildCell } from '../../src/report/model/cells.js'
import { expiringCertificates } from '../../src/report/model/expiry.js'
import { deviceKind, guessNotesFor, provenanceShort, provenanceText } from '../../src/report/model/provenance.js'
import { loadProfile } from '../../src/families/index.js'
import type { Prediction } from '../../src/predict/index.js'
import type { CellAttempt } from '../../src/report/model/cells.js'
import type { TargetRow } from '../../src/report/model/types.js'
import { SHA_GOOD, SHA_INTER, cert, cell, column, target } from './render-fixture.js'

function attempt(over: Partial<CellAttempt> = {}): CellAttempt {
  return {
    id: 1,
    runId: 'run-1',
    device: 'a',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    profile: 'spwf04sa-1.0.0',
    target: 'expired.test:443',
    host: 'expired.test',
    port: 443,
    path: '/',
    anchor: SHA_GOOD,
    anchorSubject: 'CN=Good Root',
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'pass',
    class: null,
    reason: null,
    upload: null,
    lines: ['AT-S.OK'],
    httpStatus: 200,
    bodyBytes: 0,
    durationMs: 10,
    expect: 'fail',
    observationId: null,
    recordedAt: '2026-11-28T01:00:00.000Z',
    note: null,
    probe: null,
    ...over,
  }
}

const row: TargetRow = target('expired.test:443', [], 'fail')
const pass: Prediction = { verdict: 'pass', class: null, reasons: [] }
const expired: Prediction = {
  verdict: 'fail',
  class: 'expired',
  reasons: [
    {
      code: 'expired',
      text: "leaf “CN=expired.test” expired on 2025-01-01T00:00:00Z (valid 2024-01-01T00:00:00Z to 2025-01-01T00:00:00Z); SPWF04SA 1.0.0's clock reads 2026-11-28T01:00:00Z",
      cert: null,
    },
  ],
}
const build = (predicted: Prediction, strict?: Prediction, off: Record<string, string> = {}) =>
  buildCell({
    row,
    attempts: [attempt()],
    cert: (sha) => (sha === SHA_GOOD ? cert(SHA_GOOD, 'CN=Good Root', 'CN=Good Root') : undefined),
    predictionOf: () => predicted,
    chain: null,
    rig: null,
    ...(strict ? { strictPredictionOf: () => ({ prediction: strict, off }) } : {}),
  })

test('an unsafe accept names the check the module skipped: the date check its profile has off', () => {
  const c = build(pass, expired, { checkValidity: 'checkValidity false' })
  assert.ok(c.unsafe)
  assert.deepEqual(c.why, [
    'must be refused (expect=fail), yet the module accepted it with CN=Good Root: it skips the date check, as its profile says (checkValidity false): leaf “CN=expired.test” expired on 2025-01-01T00:00:00Z (valid 2024-01-01T00:00:00Z to 2025-01-01T00:00:00Z)',
  ])
})

test('an unsafe accept against its profile: the check the profile says it makes, and skipped', () => {
  const hostname: Prediction = {
    verdict: 'fail',
    class: 'hostname',
    reasons: [
      { code: 'hostname-mismatch', text: 'leaf “CN=other.test” names other.test, not expired.test', cert: null },
    ],
  }
  const c = build(hostname)
  assert.ok(c.disagree)
  assert.ok(
    c.why.includes(
      'must be refused (expect=fail), yet the module accepted it with CN=Good Root: it skipped the host name check, which its profile says it makes (leaf “CN=other.test” names other.test, not expired.test)',
    ),
    c.why.join('\n'),
  )
  // Nothing the profile models fails on the server: said so, not guessed.
  assert.match(build(pass, pass).why[0]!, /no check the profile models .* fails on this server/)
  assert.match(build({ verdict: 'unknown', class: null, reasons: [] }).why[0]!, /cannot tell which check/)
})

test('expiring CA certificates: each once, with all its roles, leaf certificates left out', () => {
  const now = new Date('2026-11-28T00:00:00Z')
  const soon = '2026-12-10T00:00:00.000Z'
  const certs = {
    [SHA_INTER]: { ...cert(SHA_INTER, 'CN=Inter', 'CN=Inter'), selfSigned: false, notAfter: soon },
    leaf: { ...cert('leaf', 'CN=a.test', 'CN=a.test'), selfSigned: false, notAfter: soon },
  }
  const col = column('SPWF04SA', '1.1.0')
  const a = cell(target('a.test:443', []), col, {
    verdict: 'pass',
    anchors: { passed: [SHA_GOOD], failed: [] },
  })
  a.evidence.chain = ['leaf', SHA_INTER]
  // Another target uploads that intermediate as its CA.
  const b = cell(target('b.test:443', []), col, { verdict: 'pass', anchors: { passed: [SHA_INTER], failed: [] } })
  b.evidence.chain = ['leaf']
  const list = expiringCertificates([a, b], (s) => certs[s], now, 30)
  assert.equal(list.length, 1, JSON.stringify(list))
  assert.equal(list[0]!.sha256, SHA_INTER)
  assert.deepEqual(list[0]!.roles, ['intermediate', 'anchor'])
  assert.equal(list[0]!.role, 'intermediate')
  assert.deepEqual(list[0]!.targets, ['a.test:443', 'b.test:443'])
})

test('provenance from the device URL: only emu: is known emulated; a pseudo-terminal is said to be undecidable', () => {
  assert.equal(deviceKind('emu:spwf04sa-1.1.0?no-dns'), 'emu')
  assert.equal(deviceKind('/dev/ttyUSB0?baud=115200'), 'serial')
  assert.equal(deviceKind('COM3'), 'serial')
  assert.equal(deviceKind('tcp://10.0.0.2:7000'), 'tcp')
  assert.equal(deviceKind(null), null)
  const p = (url: string) => ({ url, kind: deviceKind(url), profile: 'spwf04sa-1.1.0', guesses: [] })
  assert.equal(
    provenanceText(p('emu:spwf04sa-1.1.0?seed=3'), 'a'),
    'device: emu:spwf04sa-1.1.0 (emulated: the verdict follows the profile spwf04sa-1.1.0, not a real module)',
  )
  assert.equal(provenanceText(p('/dev/ttyUSB0'), 'a'), 'device: /dev/ttyUSB0 (serial port: taken as a real module)')
  assert.match(
    provenanceText(p('/dev/pts/3'), 'a'),
    /a pseudo-terminal: .*tlsmatrix emulate --pty; the runner cannot tell/,
  )
  assert.equal(provenanceShort(p('/dev/pts/3')), 'pty')
  assert.match(
    provenanceText(undefined, 'bench-1'),
    /device: bench-1 \(the run did not record its URL: emulated or real is not known\)/,
  )
})

test('the profile guesses a verdict rests on, from the shipped profile notes', async () => {
  const profile = await loadProfile('spwf04sa-1.1.0')
  const expired = guessNotesFor(profile.notes, { verdict: 'fail', class: 'expired' })
  assert.ok(
    expired.some((n) => n.startsWith('GUESS: validity is checked against the module clock')),
    expired.join('\n'),
  )
  assert.ok(
    expired.some((n) => n.startsWith('GUESS: Certificate Error:24 (expired)')),
    expired.join('\n'),
  )
  assert.ok(expired.every((n) => n.includes('GUESS')))
  assert.ok(!expired.some((n) => /console_echo/.test(n)), 'a note on another field is left out')
  const hostname = guessNotesFor(profile.notes, { verdict: 'fail', class: 'hostname' })
  assert.ok(hostname.some((n) => n.startsWith('GUESS: the host name is checked against the leaf')))
  assert.ok(!hostname.some((n) => n.startsWith('GUESS: validity')))
  // A pass went through every check: the guesses on each of them.
  const pass = guessNotesFor(profile.notes, { verdict: 'pass', class: null })
  assert.ok(pass.length >= hostname.length + 1)
  assert.deepEqual(guessNotesFor(profile.notes, { verdict: 'not-run', class: null }), [])
})
