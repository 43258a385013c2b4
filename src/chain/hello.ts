import { createSecureContext, type SecureVersion } from 'node:tls'
import { AppError } from '../core/errors.js'
import { CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES, TLS_VERSIONS, type TlsVersion } from './iana.js'

/**
 * What the client offers. The server chooses its certificate (RSA or ECDSA, which chain) from
 * this, so the survey resolves each target with exactly the hello a device sends.
 */
export interface HelloProfile {
  versions: TlsVersion[]
  /** IANA names in client preference order; empty means the TLS library's broad default. */
  cipherSuites: string[]
  /** IANA group names; empty means default. */
  groups: string[]
  /** IANA SignatureScheme names; empty means default. */
  signatureAlgorithms: string[]
  sni: boolean
}

/** A broad TLS 1.2 hello: every version up to 1.2, every suite and group the library has. */
export const DEFAULT_HELLO: HelloProfile = {
  versions: ['TLSv1', 'TLSv1.1', 'TLSv1.2'],
  cipherSuites: [],
  groups: [],
  signatureAlgorithms: [],
  sni: true,
}

export interface NodeHelloOptions {
  minVersion: SecureVersion
  maxVersion: SecureVersion
  ciphers: string
  ecdhCurve?: string
  sigalgs?: string
}

// SECLEVEL=0 so the resolver still talks to servers a module would (TLS 1.0, SHA-1, small keys):
// judging them is the plan's job, not the capture's.
const BROAD_CIPHERS = 'ALL:!aNULL:!eNULL:@SECLEVEL=0'

export function toNodeHello(profile: HelloProfile): NodeHelloOptions {
  if (profile.versions.length === 0) throw new AppError('USAGE', 'hello profile offers no TLS version')
  const idx = profile.versions.map((v) => {
    const i = TLS_VERSIONS.indexOf(v)
    if (i < 0) throw new AppError('USAGE', `unknown TLS version "${v}"`)
    return i
  })
  const options: NodeHelloOptions = {
    minVersion: TLS_VERSIONS[Math.min(...idx)]!,
    maxVersion: TLS_VERSIONS[Math.max(...idx)]!,
    ciphers: BROAD_CIPHERS,
  }
  if (profile.cipherSuites.length > 0) {
    const names = profile.cipherSuites.map((s) => {
      // An own key only: a name from a file must not find Object.prototype's `constructor`.
      const openssl = Object.hasOwn(CIPHER_SUITES, s) ? CIPHER_SUITES[s] : undefined
      if (!openssl)
        throw new AppError('USAGE', `unknown cipher suite "${s}" (use IANA names such as TLS_RSA_WITH_AES_128_CBC_SHA)`)
      return openssl
    })
    options.ciphers = `${names.join(':')}:@SECLEVEL=0`
  }
  if (profile.groups.length > 0) {
    options.ecdhCurve = profile.groups
      .map((g) => {
        const openssl = Object.hasOwn(GROUPS, g) ? GROUPS[g] : undefined
        if (!openssl) throw new AppError('USAGE', `unknown group "${g}" (use IANA names such as secp256r1)`)
        return openssl
      })
      .join(':')
  }
  if (profile.signatureAlgorithms.length > 0) {
    options.sigalgs = profile.signatureAlgorithms
      .map((s) => {
        const openssl = Object.hasOwn(SIGNATURE_SCHEMES, s) ? SIGNATURE_SCHEMES[s] : undefined
        if (!openssl)
          throw new AppError('USAGE', `unknown signature scheme "${s}" (use IANA names such as rsa_pkcs1_sha256)`)
        return openssl
      })
      .join(':')
  }
  try {
    // OpenSSL is the judge of what it accepts; asking now turns a bad list into a usage error
    // instead of a failure on every connection.
    createSecureContext(options)
  } catch (err) {
    throw new AppError(
      'USAGE',
      `the TLS library refuses this hello (${JSON.stringify(options)}): ${(err as Error).message}`,
    )
  }
  return options
}
