import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rootCertificates } from 'node:tls'
import { parseCertificate, pemBlocks, type Observation } from '../../src/chain/index.js'
import { observationText } from '../../src/cli/output/resolve-text.js'
import { termSafe } from '../../src/core/sanitize.js'
import { buildMatrix, failuresText, matrixText } from '../../src/report/index.js'
import type { AttemptRow } from '../../src/store/index.js'

// Certificate fields and module lines come from strangers: an ESC sequence in a subject must not
// reach the terminal as one.
// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/
const evil = 'CN=evil\x1b[2J\x1b]0;pwned\x07\r\nfake line'

test('terminal output never carries control characters from certificates or servers', () => {
  assert.equal(termSafe('a\x1b[31mb\x00c\x9b'), 'a\\x1b[31mb\\x00c\\x9b')
  const real = parseCertificate(pemBlocks(rootCertificates[0]!)[0]!)
  const hostile = { ...real, info: { ...real.info, subject: evil, issuer: evil } }
  const obs: Observation = {
    target: 'x.test:443',
    host: 'x.test',
    port: 443,
    sni: 'x.test',
    observedAt: '',
    ip: '127.0.0.1',
    protocol: 'TLSv1.2',
    cipher: 'c',
    capture: 'wire',
    error: { code: 'tls-error', message: 'bad\x1b[0m' },
    timings: { dnsMs: 0, connectMs: 0, handshakeMs: 0, totalMs: 0 },
    served: [hostile],
    chainHash: 'h',
    anchors: [{ cert: hostile, source: 'served', kind: 'root', paths: [], match: ['path'] }],
    untrustedAnchors: [{ cert: hostile, source: 'served', kind: 'root', paths: [], match: ['ski-aki'] }],
    aia: { fetched: [], errors: [] },
  }
  const text = observationText(obs)
  assert.doesNotMatch(text, CONTROL)
  assert.match(text, /CN=evil\\x1b\[2J/)
  const row: AttemptRow = {
    id: 1,
    runId: 'r',
    device: 'd\x1b',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    profile: 'p',
    target: 'x.test:443\x07',
    host: 'x.test',
    port: 443,
    path: '/',
    anchor: 'a',
    anchorSubject: evil,
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'fail',
    class: 'untrusted',
    reason: null,
    upload: null,
    lines: ['AT-S.Certificate Error:23\x1b[1m'],
    httpStatus: null,
    bodyBytes: 0,
    durationMs: 1,
    expect: null,
    observationId: null,
    recordedAt: '',
    note: null,
    probe: null,
  }
  const m = buildMatrix(
    [
      {
        label: 'd\x1b',
        url: 'emu:x',
        module: 'SPWF04SA',
        firmware: '1.0.0',
        build: null,
        profile: 'p',
        warning: null,
        lost: null,
      },
    ],
    [row],
    [row.target],
  )
  for (const out of [matrixText(m), failuresText([row])]) assert.doesNotMatch(out, CONTROL, out)
})
