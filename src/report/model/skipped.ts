import type { Prediction, Reason } from '../../predict/index.js'

/** What the profile's strict twin (every check it can switch off switched on) says of an attempt. */
export interface StrictJudgement {
  prediction: Prediction
  /**
   * Profile fields the twin changed, with what the real profile says: `checkValidity` →
   * `checkValidity false`, `certificateSignatureHashes` → `certificateSignatureHashes lists sha1`.
   */
  off: Record<string, string>
}

/** The check a failing prediction rests on, in words, and the profile field that switches it off. */
function checkOf(reasons: readonly Reason[], cls: string | null): { check: string; field: string | null } {
  const codes = new Set(reasons.map((r) => r.code))
  if (cls === 'expired' || cls === 'clock') return { check: 'the date check', field: 'checkValidity' }
  if (cls === 'hostname') return { check: 'the host name check', field: 'checkHostname' }
  if (cls === 'untrusted') {
    if (codes.has('signature-hash-unsupported'))
      return { check: 'the signature hash check (weak hashes refused)', field: 'certificateSignatureHashes' }
    if (['chain-order', 'ca-signature-mismatch'].some((c) => codes.has(c)))
      return { check: 'the signature check', field: null }
    return { check: 'the trust check (a path to the uploaded CA)', field: null }
  }
  if (cls === 'key-unsupported' || cls === 'too-large') return { check: 'its key and size limits', field: null }
  if (cls === 'handshake') return { check: 'the handshake', field: null }
  return { check: `the ${cls ?? 'unknown'} check`, field: null }
}

/**
 * The sentence an unsafe accept (a must-reject target that passed) carries: which check the module
 * skipped, from the predictor's facts. `predicted` is the cell's own prediction of the passing
 * attempt; `strict` the profile's strict twin's, which says what a module making every check would
 * refuse the server for. Pure.
 */
export function unsafeWhy(anchorName: string, predicted: Prediction | null, strict: StrictJudgement | null): string {
  const head = `must be refused (expect=fail), yet the module accepted it with ${anchorName}`
  // The profile says the module checks this, yet it passed: it skipped a check its profile claims.
  if (predicted?.verdict === 'fail') {
    const { check } = checkOf(predicted.reasons, predicted.class)
    return `${head}: it skipped ${check}, which its profile says it makes (${predicted.reasons[0]?.text ?? predicted.class ?? 'fail'})`
  }
  if (predicted?.verdict === 'pass' && strict) {
    if (strict.prediction.verdict === 'fail') {
      const { check, field } = checkOf(strict.prediction.reasons, strict.prediction.class)
      const off = field && strict.off[field] ? ` (${strict.off[field]})` : ''
      // The fact only (before "; "): what follows describes the twin's limit, not the real module's.
      const fact = strict.prediction.reasons[0]?.text.split('; ')[0] ?? strict.prediction.class ?? 'fail'
      return `${head}: it skips ${check}, as its profile says${off}: ${fact}`
    }
    if (strict.prediction.verdict === 'pass')
      return `${head}; its profile predicts that too, and no check the profile models (dates, host name, signatures, trust, keys, sizes) fails on this server: what makes it unacceptable (revocation, a policy) is not modelled`
  }
  return `${head}; its profile cannot tell which check the module skipped`
}
