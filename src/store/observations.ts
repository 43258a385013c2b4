import { createHash } from 'node:crypto'
import type { Observation, ParsedCert } from '../chain/index.js'
import type { HelloProfile } from '../chain/index.js'
import type { Statement } from 'better-sqlite3'
import { storeError, type Db } from './db.js'

/** Writes observations, each in its own transaction, so a crash loses at most the one in flight. */
export class ObservationStore {
  // Prepared on first use: a survey hands this store over before its (lazily opened) database exists.
  private statements: { insertCert: Statement; insertObs: Statement } | null = null
  /** Certificates this process already stored: a survey meets the same few again and again. */
  private readonly stored = new Set<string>()

  constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {}

  private prepared(): { insertCert: Statement; insertObs: Statement } {
    return (this.statements ??= {
      insertCert: this.db.prepare(`INSERT OR IGNORE INTO certificates
      (sha256, der, subject, issuer, serial, ski, aki, key_type, key_bits, key_curve, signature, not_before, not_after, is_ca, self_signed, first_seen)
      VALUES (@sha256, @der, @subject, @issuer, @serial, @ski, @aki, @keyType, @keyBits, @keyCurve, @signature, @notBefore, @notAfter, @isCA, @selfSigned, @firstSeen)`),
      insertObs: this.db.prepare(`INSERT INTO observations
      (target, host, port, observed_at, hello, ip, sni, protocol, cipher, capture, served, chain_hash, error_code, error_message, timings, anchors, aia_errors, run_id, connect_port)
      VALUES (@target, @host, @port, @observedAt, @hello, @ip, @sni, @protocol, @cipher, @capture, @served, @chainHash, @errorCode, @errorMessage, @timings, @anchors, @aiaErrors, @runId, @connectPort)`),
    })
  }

  /** Returns the observation's row id. */
  record(obs: Observation, hello: HelloProfile, runId: string | null = null): number {
    let result: { id: number; fps: string[] }
    try {
      const { insertCert, insertObs } = this.prepared()
      result = this.db
        .transaction(() => {
          const certs = new Map<string, ParsedCert>()
          for (const c of [...obs.served, ...obs.aia.fetched, ...obs.anchors.map((a) => a.cert)])
            certs.set(c.info.sha256, c)
          for (const c of certs.values()) {
            if (this.stored.has(c.info.sha256)) continue
            insertCert.run(certRow(c, obs.observedAt))
          }
          const info = insertObs.run({
            target: obs.target,
            host: obs.host,
            port: obs.port,
            observedAt: obs.observedAt,
            hello: helloHash(hello),
            ip: obs.ip,
            sni: obs.sni,
            protocol: obs.protocol,
            cipher: obs.cipher,
            capture: obs.capture,
            served: JSON.stringify(obs.served.map((c) => c.info.sha256)),
            chainHash: obs.chainHash,
            errorCode: obs.error?.code ?? null,
            errorMessage: obs.error?.message ?? null,
            timings: JSON.stringify(obs.timings),
            anchors: JSON.stringify(
              obs.anchors.map((a) => ({
                sha256: a.cert.info.sha256,
                source: a.source,
                kind: a.kind,
                match: a.match,
                paths: a.paths,
              })),
            ),
            aiaErrors: JSON.stringify(obs.aia.errors),
            runId,
            connectPort: obs.connectPort ?? null,
          })
          return { id: Number(info.lastInsertRowid), fps: [...certs.keys()] }
        })
        .immediate()
    } catch (err) {
      throw storeError(err, this.path)
    }
    // Only once committed: a rolled-back certificate must be written again next time.
    for (const fp of result.fps) this.stored.add(fp)
    return result.id
  }

  /** A certificate no observation holds (a trust-store CA a plan lends a must-reject target), so a worker can upload it. */
  recordCertificate(c: ParsedCert, at: string): void {
    if (this.stored.has(c.info.sha256)) return
    try {
      this.prepared().insertCert.run(certRow(c, at))
    } catch (err) {
      throw storeError(err, this.path)
    }
    this.stored.add(c.info.sha256)
  }
}

/** Stable identity of a ClientHello, so observations made with different hellos are told apart. */
export function helloHash(hello: HelloProfile): string {
  return createHash('sha256').update(JSON.stringify(hello)).digest('hex').slice(0, 16)
}

function certRow(c: ParsedCert, firstSeen: string) {
  const i = c.info
  return {
    sha256: i.sha256,
    der: c.der,
    subject: i.subject,
    issuer: i.issuer,
    serial: i.serial,
    ski: i.ski,
    aki: i.aki,
    keyType: i.key.type,
    keyBits: i.key.bits,
    keyCurve: i.key.curve,
    signature: i.signature,
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    isCA: i.isCA ? 1 : 0,
    selfSigned: i.selfSigned ? 1 : 0,
    firstSeen,
  }
}
