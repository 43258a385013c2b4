import type { TlsVersion } from '../chain/index.js'
import { KEY_SPECS, type KeySpec } from '../lab/spec.js'
import { Findings } from './findings.js'
import type { ProbeCert, ProbeCertOptions, ProbePki, ProbeServe, ProbeServer } from './lab/index.js'
import type { ProbeOutcome, ProbeSession, ProbeSpec } from './session.js'

export const RSA_KEYS = KEY_SPECS.filter((k) => k.startsWith('rsa-'))
export const EC_KEYS = KEY_SPECS.filter((k) => k.startsWith('ec-'))
export const rsaBits = (k: KeySpec) => Number(k.slice(4))
/** The profile's curve names (`certificateKeys.ecdsa`). */
export const curveOf = (k: KeySpec) =>
  (({ 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' }) as Record<string, string>)[k]!
/** The hello's name for an EC key's curve (`tls.groups`). */
export const groupOf = (k: KeySpec) =>
  (({ 'ec-p256': 'secp256r1', 'ec-p384': 'secp384r1', 'ec-p521': 'secp521r1' }) as Record<string, string>)[k]!

const O = 'O=tlsmatrix learn'

export interface LabNames {
  /** The name the module is asked for: it resolves to the probe server on the module's network. */
  host: string
  /** A name in no probe certificate's SAN but `host`'s own listener: the wrong-name probes. */
  otherHost: string
  /** A name no DNS resolves (RFC 6761 `.invalid`). */
  nxHost: string
  port: number
  closedPort: number
}

/**
 * What every stage works with: the session (the module), the probe PKI and server, the names,
 * and the baseline chain (root → intermediate → leaf, RSA-2048/SHA-256 unless the hello wants
 * an ECDSA leaf). One probe root signs every probe, so one upload serves most of them.
 */
export class LearnKit {
  readonly found = new Findings()
  root!: ProbeCert
  int!: ProbeCert
  leaf!: ProbeCert
  /** The baseline probe's answer: the RSA-2048/SHA-256 point of every key and hash series. */
  baseline: ProbeOutcome | null = null
  /** The leaf key type the module's suites can use. */
  leafKey: KeySpec = 'rsa-2048'
  /** Versions the server may use for chain probes (the module's, once known). */
  versions: TlsVersion[] | undefined

  constructor(
    readonly session: ProbeSession,
    readonly pki: ProbePki,
    readonly server: ProbeServer,
    readonly names: LabNames,
    readonly now: Date,
  ) {}

  async makeBaseline(): Promise<void> {
    this.root = await this.pki.issue({
      subject: `CN=tlsmatrix learn Root RSA-2048, ${O}`,
      key: 'rsa-2048',
      keySlot: 'root',
      issuer: 'self',
      ca: true,
    })
    this.int = await this.pki.issue({
      subject: `CN=tlsmatrix learn Intermediate RSA-2048, ${O}`,
      key: 'rsa-2048',
      keySlot: 'int',
      issuer: this.root,
      ca: true,
    })
    this.leaf = await this.issueLeaf({})
  }

  /** A leaf for the lab host, signed by the baseline intermediate unless said otherwise. */
  async issueLeaf(o: Partial<ProbeCertOptions>): Promise<ProbeCert> {
    return await this.pki.issue({
      subject: `CN=${this.names.host}, ${O}`,
      key: this.leafKey,
      keySlot: 'leaf',
      issuer: this.int,
      sans: [this.names.host],
      ...o,
    })
  }

  tls(
    chain: readonly ProbeCert[],
    o: { versions?: TlsVersion[]; cipherSuites?: string[]; noSni?: readonly ProbeCert[] } = {},
  ): ProbeServe {
    const versions = o.versions ?? this.versions
    return {
      kind: 'tls',
      chain: chain.map((c) => c.der),
      key: chain[0]!.key,
      ...(versions ? { versions } : {}),
      ...(o.cipherSuites ? { cipherSuites: o.cipherSuites } : {}),
      ...(o.noSni ? { noSni: { chain: o.noSni.map((c) => c.der), key: o.noSni[0]!.key } } : {}),
    }
  }

  /** A probe of the lab host with `chain` served and `ca` loaded (the baseline root unless said). */
  async probe(
    id: string,
    what: string,
    serve: ProbeServe | null,
    ca: ProbeCert | null = this.root,
    where: Partial<Pick<ProbeSpec, 'host' | 'port' | 'path' | 'clockAt'>> = {},
  ): Promise<ProbeOutcome> {
    return await this.session.request({
      id,
      what,
      ca,
      serve,
      host: this.names.host,
      port: this.names.port,
      path: '/',
      ...where,
    })
  }
}
