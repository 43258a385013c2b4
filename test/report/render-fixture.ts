import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import type { TranscriptEntry } from '../../src/device/at/transcript.js'
import type { FailureClass } from '../../src/profile/index.js'
import type {
  Cell,
  CertSummary,
  EvidenceSource,
  FirmwareColumn,
  ReportModel,
  TargetRow,
} from '../../src/report/model/types.js'

/** Strings an attacker controls (a certificate subject, module lines), aimed at each format. */
export const HOSTILE_SUBJECT = 'CN=<script>alert(1)</script> | =HYPERLINK("http://x") `code`'
/**
 * A class no store gives (the store reads only FAILURE_CLASSES, and the model's type says so): a
 * renderer escapes it all the same, as it does every text in the model.
 */
export const HOSTILE_CLASS = 'cert<x>' as FailureClass

export const HOSTILE_LINES = [
  'ERROR: bad | pipe',
  '<img src=x>',
  "=cmd|' /C calc'!A0",
  'Certificate Error:22\x1b[2J\r\nfake line',
  '&nbsp;&amp;[link](http://y) *b* _i_ \\| #h',
]

/** A profile note marked GUESS, with text that must stay text in every format. */
export const GUESS_NOTE = 'GUESS: validity is checked | against <the clock> `x` [C]'

export const SHA_EVIL = 'e'.repeat(64)
export const SHA_GOOD = 'a'.repeat(64)
export const SHA_INTER = 'b'.repeat(64)

export function cert(sha256: string, subject: string, name: string): CertSummary {
  return {
    sha256,
    subject,
    name,
    issuer: subject,
    key: 'RSA 2048',
    bytes: 1200,
    notBefore: '2024-01-01T00:00:00.000Z',
    notAfter: '2027-01-01T00:00:00.000Z',
    selfSigned: true,
  }
}

export function column(module: string, firmware: string): FirmwareColumn {
  return {
    module,
    firmware,
    key: `${module}@${firmware}`,
    profileId: `${module.toLowerCase()}-${firmware}`,
    store: { caSlots: 1, maxCaBytes: 4096 },
  }
}

export function target(name: string, tags: string[], expect: TargetRow['expect'] = null): TargetRow {
  const [host, port] = name.split(':')
  return { target: name, host: host!, port: Number(port ?? 443), path: '/', tags, expect }
}

let attempt = 0
export function cell(t: TargetRow, col: FirmwareColumn, over: Partial<Cell>): Cell {
  attempt++
  const verdict = over.verdict ?? 'pass'
  const mismatch = t.expect !== null && verdict !== 'not-run' && verdict !== t.expect
  return {
    target: t.target,
    host: t.host,
    port: t.port,
    tags: t.tags,
    module: col.module,
    firmware: col.firmware,
    key: col.key,
    verdict,
    class: null,
    expect: t.expect,
    mismatch,
    unsafe: mismatch && t.expect === 'fail',
    anchors: { passed: verdict === 'pass' ? [SHA_EVIL] : [], failed: [] },
    lines: [],
    why: [],
    predicted: 'unknown',
    predictedClass: null,
    disagree: false,
    notRun: null,
    runId: 'run-1',
    observedAt: '2026-11-28T01:00:00.000Z',
    evidence: {
      attemptId: attempt,
      device: 'dev<1>',
      rig: null,
      recordedAt: '2026-11-28T01:00:00.000Z',
      anchor: verdict === 'not-run' ? null : SHA_EVIL,
      upload: null,
      chain: [SHA_INTER],
      chainHash: 'c'.repeat(64),
      protocol: 'TLSv1.2',
      cipher: 'AES128-SHA',
      provenance: { url: '/dev/ttyUSB0?baud=115200', kind: 'serial', profile: col.profileId, guesses: [] },
    },
    ...over,
  }
}

/**
 * A small report with every section filled, a hostile firmware name in a column header, a
 * hostile target, a hostile certificate name on every pass, hostile module lines on every fail.
 */
export function hostileModel(): ReportModel {
  const old = column('SPWF04SA', '1.0.0')
  const neu = column('SPWF04SA', '1.1.0')
  const odd = column('SPWF|01<b>', '3.5`x`')
  const ebay = target('www.ebay.com:443', ['shop'])
  const evil = target('evil|<script>.test:443', ['shop', '*b*'], 'pass')
  const azure = target('azure.test:443', ['cloud|x'])
  const plain = target('plain.test:443', [])
  const expired = target('expired.test:443', ['shop'], 'fail')
  const revoked = target('revoked.test:443', [], 'fail')
  const cells: Cell[] = [
    cell(ebay, old, {
      verdict: 'fail',
      class: 'handshake',
      lines: HOSTILE_LINES,
      why: ['The module <b>cannot</b> | verify ' + HOSTILE_SUBJECT],
      predicted: 'fail',
      predictedClass: 'handshake',
    }),
    cell(ebay, neu, {
      verdict: 'pass',
      predicted: 'fail',
      predictedClass: 'handshake',
      disagree: true,
      why: ['predicted a failure: key | too large'],
    }),
    cell(evil, old, { verdict: 'fail', class: HOSTILE_CLASS, lines: HOSTILE_LINES }),
    cell(evil, neu, { verdict: 'not-run', notRun: { reason: 'link', detail: 'no answer | twice <x>' } }),
    cell(evil, odd, { verdict: 'pass' }),
    cell(azure, neu, { verdict: 'pass' }),
    cell(plain, old, { verdict: 'pass' }),
    cell(expired, old, { verdict: 'fail', class: 'expired', lines: ['Certificate Error:-9984'] }),
    cell(expired, neu, { verdict: 'pass', lines: ['HTTP/1.1 200 OK'] }),
    cell(revoked, neu, { verdict: 'fail', class: 'handshake', lines: ['x'] }),
  ]
  // The must-reject target's cells come from emulators: their verdicts follow the profile and its guess.
  for (const c of cells.filter((x) => x.target === expired.target))
    c.evidence.provenance = { url: `emu:${c.key}?no-dns`, kind: 'emu', profile: c.key, guesses: [0] }
  return {
    title: 'Report <script>x</script> | t',
    generatedAt: '2026-11-28T02:00:00.000Z',
    expiryDays: 30,
    runs: [
      {
        id: 'run-1',
        label: 'night|ly',
        startedAt: '2026-11-28T00:00:00.000Z',
        endedAt: '2026-11-28T01:30:00.000Z',
        status: 'complete',
      },
    ],
    firmware: [old, neu, odd],
    targets: [ebay, evil, azure, plain, expired, revoked],
    cells,
    anchorSets: [
      {
        module: 'SPWF04SA',
        firmware: '1.1.0',
        anchors: [SHA_EVIL, SHA_GOOD],
        covers: [ebay.target, azure.target],
        bytes: 5000,
        exact: true,
        perTarget: [
          { target: ebay.target, anchors: [SHA_EVIL] },
          { target: azure.target, anchors: [SHA_GOOD] },
        ],
        limitBytes: 4096,
      },
      {
        module: 'SPWF04SA',
        firmware: '1.0.0',
        anchors: [SHA_GOOD],
        covers: [plain.target],
        bytes: 1200,
        exact: false,
        perTarget: [{ target: plain.target, anchors: [SHA_GOOD] }],
        limitBytes: 4096,
      },
    ],
    diff: {
      baseline: 'SPWF04SA@1.0.0',
      candidate: 'SPWF04SA@1.1.0',
      regressions: [
        {
          target: revoked.target,
          key: null,
          baselineKey: 'SPWF04SA@1.0.0',
          candidateKey: 'SPWF04SA@1.1.0',
          chain: null,
          before: 'pass',
          after: 'fail',
          beforeClass: null,
          afterClass: 'handshake',
          why: ['a | regression <i>'],
        },
        {
          target: expired.target,
          key: null,
          baselineKey: 'SPWF04SA@1.0.0',
          candidateKey: 'SPWF04SA@1.1.0',
          chain: null,
          before: 'fail',
          after: 'pass',
          beforeClass: 'expired',
          afterClass: null,
          why: ['accepts | expired'],
        },
      ],
      fixes: [
        {
          target: ebay.target,
          key: null,
          baselineKey: 'SPWF04SA@1.0.0',
          candidateKey: 'SPWF04SA@1.1.0',
          chain: null,
          before: 'fail',
          after: 'pass',
          beforeClass: 'handshake',
          afterClass: null,
          why: [],
        },
      ],
      changed: [],
      same: [plain.target],
      notComparable: [
        {
          target: evil.target,
          key: null,
          baselineKey: 'SPWF04SA@1.0.0',
          candidateKey: 'SPWF04SA@1.1.0',
          chain: null,
          before: 'fail',
          after: 'not-run',
          beforeClass: HOSTILE_CLASS,
          afterClass: null,
          why: [],
        },
      ],
      chainChanged: [],
      unsafe: [],
      baselineRuns: ['run-0'],
      candidateRuns: ['run-1'],
    },
    chainChanges: [
      {
        target: ebay.target,
        before: { chainHash: 'd'.repeat(64), observedAt: '2026-11-01T00:00:00.000Z', runId: 'run-0' },
        after: { chainHash: 'c'.repeat(64), observedAt: '2026-11-28T00:00:00.000Z', runId: 'run-1' },
        added: [HOSTILE_SUBJECT],
        removed: ['Old CA'],
        addedCerts: [SHA_EVIL],
        removedCerts: [SHA_GOOD],
        summary: `intermediate Old CA (RSA-2048) no longer served; new intermediate ${HOSTILE_SUBJECT} (RSA-2048)`,
        changes: [
          {
            kind: 'removed',
            role: 'intermediate',
            name: 'Old CA',
            before: SHA_GOOD,
            after: null,
            text: 'intermediate Old CA (RSA-2048) no longer served',
          },
          {
            kind: 'added',
            role: 'intermediate',
            name: HOSTILE_SUBJECT,
            before: null,
            after: SHA_EVIL,
            text: `new intermediate ${HOSTILE_SUBJECT} (RSA-2048)`,
          },
        ],
        verdicts: [{ module: 'SPWF04SA', firmware: '1.0.0', before: 'pass', after: 'fail' }],
      },
    ],
    expiring: [
      {
        sha256: SHA_INTER,
        subject: 'CN=Inter|mediate',
        notAfter: '2026-12-10T00:00:00.000Z',
        daysLeft: 12,
        role: 'intermediate',
        roles: ['intermediate'],
        targets: [ebay.target],
        firmware: ['SPWF04SA@1.0.0'],
      },
    ],
    statements: [
      {
        module: 'SPWF04SA',
        target: ebay.target,
        from: '1.1.0',
        failsAgainOn: [],
        text: 'SPWF04SA reaches www.ebay.com:443 from 1.1.0',
      },
    ],
    disagreements: 1,
    rigDifferences: [],
    guessNotes: [GUESS_NOTE],
    certificates: {
      [SHA_EVIL]: cert(SHA_EVIL, HOSTILE_SUBJECT, HOSTILE_SUBJECT),
      [SHA_GOOD]: cert(SHA_GOOD, 'CN=Good Root', 'Good Root'),
      [SHA_INTER]: cert(SHA_INTER, 'CN=Inter|mediate', 'Inter|mediate'),
    },
  }
}

/** Transcripts by attempt id, with the control characters a real exchange carries. */
export function transcripts(model: ReportModel): EvidenceSource & { asked: number[] } {
  const asked: number[] = []
  return {
    asked,
    transcript(id: number): TranscriptEntry[] {
      asked.push(id)
      const c = model.cells.find((x) => x.evidence.attemptId === id)
      return [
        { dir: 'tx', t: 0, data: `AT+S.HTTPGET=${c?.host ?? '?'},/\r` },
        { dir: 'rx', t: 12.5, data: `\r\n${(c?.lines ?? []).join('\r\n')}\r\n\x00\xff` },
      ]
    },
  }
}

/**
 * Plays a reader that was holding every write: releases them until the renderer is done, then
 * ends the stream and releases the rest until everything has reached the sink.
 */
export async function releaseAll(out: Writable, held: Array<() => void>, rendered: () => boolean): Promise<void> {
  for (let i = 0; !rendered() && i < 1_000_000; i++) {
    held.splice(0).forEach((release) => release())
    await tick()
  }
  const finished = once(out, 'finish')
  out.end()
  let done = false
  void finished.then(() => {
    done = true
  })
  for (let i = 0; !done && i < 1_000_000; i++) {
    held.splice(0).forEach((release) => release())
    await tick()
  }
  await finished
}
