import type { Observation } from '../chain/index.js'
import type { HandshakeFact } from './types.js'

/** The handshake fact one resolution gives: what the predictor rests on besides the chain. */
export function handshakeFact(obs: Pick<Observation, 'error' | 'protocol' | 'cipher'>): HandshakeFact {
  return {
    ok: obs.error === null,
    protocol: obs.protocol,
    cipher: obs.cipher,
    errorCode: obs.error?.code ?? null,
    errorMessage: obs.error?.message ?? null,
  }
}
