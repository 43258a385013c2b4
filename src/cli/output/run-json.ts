import type { Matrix } from '../../report/index.js'
import type { AttemptRow, RunDevice, RunStatus } from '../../store/index.js'

/**
 * The `run --json` document (README, "`--json` prints the run"), built here only: `run` and
 * `demo` print it, and scripts rely on its names.
 */
export function runJson(
  run: { runId: string; status: RunStatus; devices: readonly RunDevice[] },
  attempts: readonly AttemptRow[],
  matrix: Pick<Matrix, 'mismatches'>,
): unknown {
  return {
    runId: run.runId,
    status: run.status,
    devices: run.devices.map((d) => ({
      label: d.label,
      url: d.url,
      module: d.module,
      firmware: d.firmware,
      build: d.build,
      profile: d.profile,
      warning: d.warning,
      lost: d.lost,
      uploads: d.uploads ?? 0,
      requests: d.requests ?? 0,
    })),
    attempts: attempts.map((a) => ({
      host: a.host,
      port: a.port,
      path: a.path,
      target: a.target,
      device: a.device,
      firmware: a.firmware,
      profile: a.profile,
      anchor: { sha256: a.anchor, subject: a.anchorSubject, source: a.anchorSource },
      try: a.try,
      final: a.final,
      // A first try that hit a link fault and was tried again is "retried", whatever it recorded.
      outcome: a.final || a.outcome === 'not-run' ? a.outcome : 'retried',
      class: a.class,
      reason: a.reason,
      upload: a.upload,
      lines: a.lines,
      httpStatus: a.httpStatus,
      durationMs: a.durationMs,
      expect: a.expect,
    })),
    mismatches: matrix.mismatches,
  }
}
