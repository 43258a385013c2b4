// Placeholder until the predictor lands (wip/predict).
import type { PredictInput, Prediction } from './types.js'
export type { HandshakeFact, PredictInput, Prediction, Reason, ServerFacts } from './types.js'
export function predict(_input: PredictInput): Prediction {
  return { verdict: 'unknown', class: null, reasons: [] }
}
