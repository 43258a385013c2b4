import type { PlannedAnchor } from '../../src/plan/index.js'
import { RunStore, type AttemptRecord, type Db, type ProbeEvidence, type SurveyRun } from '../../src/store/index.js'

export const ANCHOR: PlannedAnchor = {
  sha256: 'c'.repeat(64),
  subject: 'CN=Probe Lab Root',
  source: 'store',
  kind: 'root',
  uploadBytes: 900,
}

export function runRow(id: string, over: Partial<SurveyRun> = {}): SurveyRun {
  return {
    id,
    label: null,
    startedAt: '2026-11-01T00:00:00.000Z',
    endedAt: '2026-11-01T01:00:00.000Z',
    status: 'complete',
    toolVersion: 'test',
    hostsFile: 'hosts.txt',
    hostsHash: 'h',
    trustStoreHash: 't',
    devices: [
      {
        label: 'd',
        url: 'tcp://127.0.0.1:1',
        module: 'SPWF04SA',
        firmware: '1.1.0',
        build: null,
        profile: 'spwf04sa-1.1.0',
        warning: null,
        lost: null,
      },
    ],
    options: {},
    plan: null,
    ...over,
  }
}

/** One attempt of `target` as the survey or the learn engine records it. */
export function attempt(runId: string, target: string, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    runId,
    device: 'd',
    module: 'SPWF04SA',
    firmware: '1.1.0',
    profile: 'spwf04sa-1.1.0',
    item: {
      target,
      host: '127.0.0.1',
      port: 4433,
      path: '/',
      expect: null,
      observationId: null,
      anchor: ANCHOR,
      skip: null,
    },
    try: 1,
    final: true,
    outcome: 'pass',
    class: null,
    reason: null,
    upload: null,
    lines: ['HTTP/1.1 200 OK'],
    httpStatus: 200,
    bodyBytes: 2,
    durationMs: 12,
    transcript: [{ dir: 'tx', t: 0, data: 'AT+S.HTTPGET\r' }],
    recordedAt: '2026-11-01T00:30:00.000Z',
    ...over,
  }
}

/**
 * A learn run as `tlsmatrix learn` leaves it: its probes recorded as attempts, each with a note
 * (what it tried) and its evidence (the connections the probe lab saw; none by default).
 */
export function learnRun(
  db: Db,
  path: string,
  id: string,
  over: Partial<SurveyRun> = {},
  probes: Array<Partial<Omit<AttemptRecord, 'probe'>> & { probe: string; evidence?: ProbeEvidence }> = [],
): number[] {
  const runs = new RunStore(db, path)
  const options = {
    device: 'tcp://127.0.0.1:1',
    out: null,
    from: null,
    labHost: 'probe.tlsmatrix.test',
    labListen: '127.0.0.1',
    profiles: [],
  }
  runs.createRun({ ...runRow(id, { hostsFile: '', ...over }), kind: 'learn', options })
  return probes.map(({ probe, evidence, ...a }) =>
    runs.recordAttempt(attempt(id, probe, { note: `probe ${probe}`, probe: evidence ?? { connections: [] }, ...a })),
  )
}
