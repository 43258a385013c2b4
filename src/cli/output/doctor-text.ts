import { termSafe } from '../../core/sanitize.js'
import { STEP_TITLES, type Step } from '../../doctor/index.js'
import type { DoctorResult } from '../../jobs/doctor.js'

const MARK = { ok: '✓', fail: '✗', unknown: '?', skipped: '–' } as const

export function formatStep(s: Step): string {
  const head = `${MARK[s.status]} ${STEP_TITLES[s.step]}: ${termSafe(s.detail)}\n`
  return s.fix ? `${head}    ${s.status === 'fail' ? 'fix' : 'note'}: ${termSafe(s.fix)}\n` : head
}

/** `doctor --json`: { device, url, ready, module, steps }. */
export function doctorJson(r: DoctorResult): string {
  return `${JSON.stringify(r, null, 2)}\n`
}

/** The verdict after the steps: ready (with the command to run), or how many steps failed. */
export function doctorVerdict(r: DoctorResult): string {
  const failed = r.steps.filter((s) => s.status === 'fail')
  const unknownSteps = r.steps.filter((s) => s.status === 'unknown')
  if (r.ready && unknownSteps.length)
    return `no step failed, ${unknownSteps.length} could not be checked (${unknownSteps.map((s) => STEP_TITLES[s.step]).join(', ')}); a survey will tell: tlsmatrix run --hosts FILE --device ${termSafe(r.url)}\n`
  if (r.ready) return `ready for a survey: tlsmatrix run --hosts FILE --device ${termSafe(r.url)}\n`
  return `${failed.length} step${failed.length === 1 ? '' : 's'} failed: not ready for a survey\n`
}
