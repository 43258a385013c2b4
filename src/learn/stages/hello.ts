import { AppError } from '../../core/errors.js'
import { TLS_VERSIONS, type TlsVersion } from '../../chain/index.js'
import type { LearnKit } from '../kit.js'

/** TLS versions the hello offers, up to its highest (a TLS 1.2 hello cannot say its lowest). */
export function offeredVersions(legacy: string, supported: readonly string[] | null): TlsVersion[] {
  const known = (supported ?? [legacy]).filter((v): v is TlsVersion => (TLS_VERSIONS as readonly string[]).includes(v))
  const top = Math.max(-1, ...known.map((v) => TLS_VERSIONS.indexOf(v)))
  return TLS_VERSIONS.slice(0, top + 1)
}

/**
 * The ClientHello the module sends, captured by a server that answers it with a handshake
 * failure: suites, groups, signature algorithms and SNI as sent, and the module's lines for a
 * refused handshake. No hello at all means the module never reached the lab: nothing else can
 * be learned, so that is an error naming the address it was asked for.
 */
export async function learnHello(kit: LearnKit): Promise<TlsVersion[]> {
  const o = await kit.probe(
    'hello',
    'capture the ClientHello (the server answers handshake_failure)',
    { kind: 'capture' },
    null,
  )
  const hello = o.connections.find((c) => c.hello)?.hello
  if (!hello) {
    if (o.outcome === 'not-run')
      throw new AppError(
        'DEVICE_LOST',
        `the module gave no complete answer to the first probe: ${o.lines.join(' / ') || 'no lines'}`,
      )
    throw new AppError(
      'LEARN_LAB_UNREACHABLE',
      `the module did not reach the probe lab at ${kit.names.host}:${kit.names.port} (it said: ${o.lines.join(' / ') || 'nothing'}). ` +
        `A module on the bench must resolve ${kit.names.host} to this machine and reach its port: see --lab-host and --lab-listen ` +
        '(an emulator you started with `tlsmatrix emulate` looks names up in DNS: give it `--lab-host localhost`). Start a new learn once it can.',
    )
  }
  const f = kit.found
  const a = [o.attemptId]
  f.set('tls.cipherSuites', hello.cipherSuites, 'hello', a)
  f.set('tls.groups', hello.groups, 'hello', a)
  f.set('tls.signatureAlgorithms', hello.signatureAlgorithms, 'hello', a)
  f.set(
    'tls.sni',
    hello.sni !== null,
    'hello',
    a,
    hello.sni !== null ? `sent ${hello.sni}` : 'no server_name extension',
  )
  f.facts.hello = {
    legacyVersion: hello.legacyVersion,
    supportedVersions: hello.supportedVersions,
    scsv: hello.scsv,
    compression: hello.compression,
    extensions: hello.extensions.map((e) => e.name),
    attempt: o.attemptId,
  }
  if (o.outcome === 'fail') f.lines('handshake', o.lines, o.attemptId)
  return offeredVersions(hello.legacyVersion, hello.supportedVersions)
}

/** A suite's certificate type: an ECDSA suite needs an EC leaf, TLS 1.3 suites take either. */
export function suiteAuth(suite: string): 'ecdsa' | 'rsa' | 'any' {
  if (/_ECDSA_/.test(suite)) return 'ecdsa'
  if (/^TLS_(AES|CHACHA20)_/.test(suite)) return 'any'
  return 'rsa'
}
