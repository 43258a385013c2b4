import { judgeChain } from './chain-rules.js'
import { judgeHandshake } from './handshake.js'
import type { PredictInput, Prediction } from './types.js'

/**
 * What the profile's module would say to this server with this CA, and why. Pure: the handshake
 * from the server facts, then the served chain through the same rules the emulator judges with.
 * Unknown whenever a fact it rests on is missing.
 */
export function predict(input: PredictInput): Prediction {
  const hs = judgeHandshake(input.profile, input.server, input.host)
  if (hs.state === 'fail') return { verdict: 'fail', class: hs.class, reasons: hs.reasons }
  if (input.served.length === 0) {
    return {
      verdict: 'unknown',
      class: null,
      reasons: [
        ...hs.reasons,
        { code: 'no-chain', text: `no certificate chain from ${input.host} was observed`, cert: null },
      ],
    }
  }
  const chain = judgeChain(input.served, input.ca, input.profile, {
    host: input.host,
    now: input.now,
    issued: input.issued,
  })
  // The handshake is not established: the chain's problems are told, the verdict is not.
  if (hs.state === 'unknown') return { verdict: 'unknown', class: null, reasons: [...hs.reasons, ...chain.reasons] }
  return chain.class
    ? { verdict: 'fail', class: chain.class, reasons: chain.reasons }
    : { verdict: 'pass', class: null, reasons: [] }
}
