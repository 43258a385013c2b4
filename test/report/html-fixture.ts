import type { TranscriptEntry } from '../../src/device/at/transcript.js'
import type { Cell, CertSummary, EvidenceSource, ReportModel, TargetRow } from '../../src/report/model/types.js'

/** What a hostile server and module put in front of the report: it must reach the page as text. */
export const HOSTILE_SUBJECT = 'CN=<script>alert(1)</script> | =HYPERLINK("x")'
export const HOSTILE_LINES = [
  '</pre><script>alert(2)</script>',
  '"><img src=x onerror=alert(3)>',
  'Certificate Error:22\r\n\u001b[31m',
]
/** Profile notes marked GUESS, one with markup that must stay text. */
export const GUESS_NOTES = [
  'GUESS: validity is checked against the module clock (the check itself is [?]).',
  'GUESS: the host name is checked against the leaf </li><script>alert(6)</script>',
]
export const HOSTILE_WHY = "The CA <b>'x'</b> \"did not\" sign the server's certificate </li><script>alert(4)</script>"

const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32)

function cert(n: number, subject: string, name: string, notAfter = '2031-01-01T00:00:00Z'): CertSummary {
  return {
    sha256: hex(n),
    subject,
    name,
    issuer: 'CN=Lab Root',
    key: 'RSA 2048',
    bytes: 900 + n,
    notBefore: '2024-01-01T00:00:00Z',
    notAfter,
    selfSigned: n === 1,
  }
}

const root = cert(1, 'CN=Lab Root', 'Lab Root')
const inter = cert(2, 'CN=Lab Intermediate', 'Lab Intermediate', '2026-12-01T00:00:00Z')
const hostile = cert(3, HOSTILE_SUBJECT, '<script>alert(1)</script>')
const leaf = cert(4, 'CN=good.example', 'good.example')

const targets: TargetRow[] = [
  { target: 'good.example:443', host: 'good.example', port: 443, path: '/', tags: ['web'], expect: 'pass' },
  {
    target: 'hostile.example:443',
    host: 'hostile.example',
    port: 443,
    path: '/',
    tags: ['web', 'a"b<i>'],
    expect: null,
  },
  { target: 'iot.example:8443', host: 'iot.example', port: 8443, path: '/', tags: ['iot'], expect: null },
  { target: 'expired.example:443', host: 'expired.example', port: 443, path: '/', tags: ['bad'], expect: 'fail' },
]
const firmware = [
  {
    module: 'SPWF04SA',
    firmware: '1.0.0',
    key: 'SPWF04SA@1.0.0',
    profileId: 'p1',
    store: { caSlots: 1, maxCaBytes: 4096 },
  },
  {
    module: 'SPWF04SA',
    firmware: '1.1.0',
    key: 'SPWF04SA@1.1.0',
    profileId: 'p2',
    store: { caSlots: 1, maxCaBytes: 4096 },
  },
]

let attempt = 0
function cell(t: TargetRow, col: number, over: Partial<Cell>): Cell {
  const f = firmware[col]!
  const verdict = over.verdict ?? 'pass'
  attempt++
  return {
    target: t.target,
    host: t.host,
    port: t.port,
    tags: t.tags,
    module: f.module,
    firmware: f.firmware,
    key: f.key,
    verdict,
    class: null,
    expect: t.expect,
    mismatch: false,
    unsafe: false,
    anchors: { passed: verdict === 'pass' ? [root.sha256] : [], failed: verdict === 'fail' ? [root.sha256] : [] },
    lines: [],
    why: [],
    predicted: verdict === 'not-run' ? 'unknown' : verdict,
    predictedClass: null,
    disagree: false,
    notRun: null,
    runId: 'run-b',
    observedAt: '2026-11-28T08:00:00Z',
    evidence: {
      attemptId: attempt,
      device: 'emu:spwf04',
      rig: 'bench<1>',
      recordedAt: '2026-11-28T08:00:01Z',
      anchor: root.sha256,
      upload: { command: 'AT+S.TLSCERT=content,1201\r', ski: 'ab:cd:ef', lines: ['OK'] },
      chain: [leaf.sha256, inter.sha256],
      chainHash: hex(9),
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      // The first firmware is emulated (its verdict follows the profile), the second a module on a serial port.
      provenance:
        col === 0
          ? { url: 'emu:spwf04sa-1.0.0?no-dns', kind: 'emu', profile: 'spwf04sa-1.0.0', guesses: [0, 1] }
          : { url: '/dev/ttyUSB0?baud=115200', kind: 'serial', profile: 'spwf04sa-1.1.0', guesses: [] },
    },
    ...over,
  }
}

/** A small report with every section filled and hostile text in each place a server or module reaches. */
export function fixtureModel(): ReportModel {
  attempt = 0
  const [good, bad, iot, expired] = targets as [TargetRow, TargetRow, TargetRow, TargetRow]
  const hostileEvidence = { ...cell(bad, 0, {}).evidence, chain: [hostile.sha256, inter.sha256] }
  const cells: Cell[] = [
    cell(good, 0, {}),
    cell(good, 1, {
      verdict: 'fail',
      class: 'handshake',
      mismatch: true,
      predicted: 'fail',
      predictedClass: 'handshake',
      lines: ['Certificate Error:22', 'ERROR: Http Client Error:2'],
      why: ['The server picks no cipher suite firmware 1.1.0 offers.'],
    }),
    cell(bad, 0, {
      verdict: 'fail',
      class: 'untrusted',
      predicted: 'pass',
      disagree: true,
      lines: HOSTILE_LINES,
      why: [HOSTILE_WHY],
      evidence: hostileEvidence,
    }),
    cell(bad, 1, {
      verdict: 'not-run',
      notRun: { reason: 'link', detail: 'no answer after 2 tries <b>' },
      lines: ['AT+S.STS\r\n'],
    }),
    cell(iot, 0, {}),
    cell(iot, 1, {}),
    cell(expired, 0, {
      verdict: 'fail',
      class: 'untrusted',
      lines: ['Certificate Error:11'],
      why: ['The certificate expired on 2025-01-01.'],
    }),
    cell(expired, 1, {
      verdict: 'pass',
      unsafe: true,
      mismatch: true,
      predicted: 'fail',
      predictedClass: 'untrusted',
      disagree: true,
      why: ['Firmware 1.1.0 does not check notAfter.'],
    }),
  ]
  return {
    title: 'tlsmatrix report <test>',
    generatedAt: '2026-11-28T09:00:00Z',
    expiryDays: 60,
    runs: [
      {
        id: 'run-a',
        label: 'baseline',
        startedAt: '2026-11-27T08:00:00Z',
        endedAt: '2026-11-27T08:10:00Z',
        status: 'done',
      },
      { id: 'run-b', label: 'candidate <i>', startedAt: '2026-11-28T08:00:00Z', endedAt: null, status: 'interrupted' },
    ],
    firmware,
    targets,
    cells,
    anchorSets: [
      {
        module: 'SPWF04SA',
        firmware: '1.0.0',
        anchors: [root.sha256],
        covers: [good.target, iot.target],
        bytes: root.bytes,
        exact: true,
        perTarget: [{ target: good.target, anchors: [root.sha256] }],
        limitBytes: 4096,
      },
    ],
    diff: {
      baseline: 'run-a',
      candidate: 'run-b',
      regressions: [
        {
          target: bad.target,
          key: null,
          baselineKey: 'SPWF04SA@1.0.0',
          candidateKey: 'SPWF04SA@1.0.0',
          chain: null,
          before: 'pass',
          after: 'fail',
          beforeClass: null,
          afterClass: 'untrusted',
          why: [HOSTILE_WHY],
        },
      ],
      fixes: [],
      changed: [],
      same: [good.target, iot.target],
      notComparable: [],
      chainChanged: [],
      unsafe: [],
      baselineRuns: ['run-a'],
      candidateRuns: ['run-b'],
    },
    chainChanges: [
      {
        target: bad.target,
        before: { chainHash: hex(8), observedAt: '2026-11-27T08:00:00Z', runId: 'run-a' },
        after: { chainHash: hex(9), observedAt: '2026-11-28T08:00:00Z', runId: 'run-b' },
        added: [hostile.name],
        removed: [leaf.name],
        addedCerts: [hostile.sha256],
        removedCerts: [leaf.sha256],
        summary: `leaf ${leaf.name} no longer served; new leaf ${hostile.name}`,
        changes: [
          {
            kind: 'removed',
            role: 'leaf',
            name: leaf.name,
            before: leaf.sha256,
            after: null,
            text: `leaf ${leaf.name} no longer served`,
          },
          {
            kind: 'added',
            role: 'leaf',
            name: hostile.name,
            before: null,
            after: hostile.sha256,
            text: `new leaf ${hostile.name}`,
          },
        ],
        verdicts: [{ module: 'SPWF04SA', firmware: '1.0.0', before: 'pass', after: 'fail' }],
      },
    ],
    expiring: [
      {
        sha256: inter.sha256,
        subject: inter.subject,
        notAfter: inter.notAfter,
        daysLeft: 3,
        role: 'intermediate',
        roles: ['intermediate', 'anchor'],
        targets: [good.target],
        firmware: ['SPWF04SA@1.0.0'],
      },
    ],
    statements: [
      {
        module: 'SPWF04SA',
        target: good.target,
        from: '1.0.0',
        failsAgainOn: ['1.1.0'],
        text: 'good.example:443 passes from SPWF04SA 1.0.0 and fails again on 1.1.0.',
      },
    ],
    disagreements: 2,
    rigDifferences: [],
    guessNotes: [GUESS_NOTES[0]!, GUESS_NOTES[1]!],
    certificates: Object.fromEntries([root, inter, hostile, leaf].map((c) => [c.sha256, c])),
  }
}

/** Transcripts as the store keeps them: raw bytes as Latin-1, CR LF and escapes included. */
export function fixtureEvidence(calls: number[] = []): EvidenceSource {
  return {
    transcript(attemptId: number): TranscriptEntry[] {
      calls.push(attemptId)
      return [
        { dir: 'tx', t: 0, data: 'AT+S.TLSDOMAIN=hostile.example\r' },
        { dir: 'rx', t: 12.5, data: '\r\nOK\r\n' },
        { dir: 'rx', t: 40, data: `\r\n+WIND:<script>alert(5)</script>\u001b[2J\u0000\r\n` },
        { dir: 'note', t: 41, data: 'attempt ' + attemptId },
      ]
    },
  }
}
