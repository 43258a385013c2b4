import type { AttemptRow } from '../../src/store/index.js'

/** An attempt as the store reads it back: a pass of t:443 on SPWF04SA 1.0.0, with `over` changed. */
export function attemptRow(over: Partial<AttemptRow> = {}): AttemptRow {
  return {
    id: 1,
    runId: 'r',
    device: 'd',
    module: 'SPWF04SA',
    firmware: '1.0.0',
    profile: 'p',
    target: 't:443',
    host: 't',
    port: 443,
    path: '/',
    anchor: 'a',
    anchorSubject: 'CN=Root',
    anchorSource: 'store',
    try: 1,
    final: true,
    outcome: 'pass',
    class: null,
    reason: null,
    upload: null,
    lines: [],
    httpStatus: 200,
    bodyBytes: 0,
    durationMs: 1,
    expect: null,
    observationId: null,
    recordedAt: '',
    note: null,
    probe: null,
    ...over,
  }
}
