import type { Anchor, Observation, ParsedCert } from '../../chain/index.js'

/** The documented --json shape of one observation (README "resolve --json"). */
export function observationJson(o: Observation) {
  return {
    target: o.target,
    host: o.host,
    port: o.port,
    sni: o.sni,
    ip: o.ip,
    // Differs from port only when --connect-to moved the connection.
    connectPort: o.connectPort ?? null,
    observedAt: o.observedAt,
    protocol: o.protocol,
    cipher: o.cipher,
    capture: o.capture,
    error: o.error ? { code: o.error.code, message: o.error.message } : null,
    timings: o.timings,
    chainHash: o.chainHash,
    served: o.served.map(certJson),
    anchors: o.anchors.map(anchorJson),
    untrustedAnchors: o.untrustedAnchors.map(anchorJson),
    aia: { fetched: o.aia.fetched.map((c) => c.info.sha256), errors: o.aia.errors },
  }
}

export function certJson(c: ParsedCert) {
  const i = c.info
  return {
    sha256: i.sha256,
    subject: i.subject,
    issuer: i.issuer,
    serial: i.serial,
    ski: i.ski,
    aki: i.aki,
    key: i.key,
    signature: i.signature,
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    sans: i.sans,
    derBytes: i.derBytes,
    caIssuers: i.caIssuers,
    isCA: i.isCA,
    selfSigned: i.selfSigned,
  }
}

function anchorJson(a: Anchor) {
  return {
    sha256: a.cert.info.sha256,
    subject: a.cert.info.subject,
    ski: a.cert.info.ski,
    key: a.cert.info.key,
    source: a.source,
    kind: a.kind,
    match: a.match,
    paths: a.paths,
  }
}
