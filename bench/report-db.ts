/**
 * The database `npm run bench:report` renders: 10,000 targets x 10 firmware versions x 2 anchors
 * (200,000 final attempts), one run per version, in the real schema (created and migrated by
 * openDb) with the rows RunStore.createRun / recordAttempt and ObservationStore.record write.
 * Verdicts are synthetic but follow the profiles (RSA-4096 refused where maxBits is 2048, no
 * ECDSA before 1.1.0, one version that skips the host-name check...), so every report section
 * has content: failures, not-run cells, unsafe passes, chain changes, expiring certificates.
 * Generated once into the system temp directory, keyed by REPORT_DB_VERSION.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_HELLO, parseCertificate, type ParsedCert } from '../src/chain/index.js'
import { loadProfile } from '../src/families/index.js'
import { helloOf, type FirmwareProfile } from '../src/profile/profile.js'
import type { DevicePlan, PlanItem, PlannedAnchor } from '../src/plan/index.js'
import type { CaUpload } from '../src/device/index.js'
import { helloHash, openDb, type RunDevice, type RunTarget } from '../src/store/index.js'
import type { TranscriptEntry } from '../src/device/at/transcript.js'
import { benchKey, daysFrom, ecLeafKey, issue, type BenchCa, type BenchKey, type BenchKeySpec } from './report-certs.js'

/** Bump when the generated data changes: a new cache directory is used. */
export const REPORT_DB_VERSION = 'v2'

export interface ReportDbOptions {
  targets?: number
  /** Where the cached database lives; default: the user's cache directory (benchCacheDir). */
  dir?: string
  log?: (line: string) => void
}

export interface ReportDb {
  path: string
  generated: boolean
  targets: number
  versions: number
  runIds: string[]
}

const VERSIONS = 10
const ROOTS = 20
const INTERMEDIATES = 40
/** RSA maxBits per version 1.N.0: 4096 arrives in 1.5.0, regresses in 1.7.0, returns in 1.8.0. */
const MAX_BITS = [2048, 2048, 2048, 2048, 2048, 4096, 4096, 2048, 4096, 4096]
/** 1.3.0 shipped without the host-name check: must-reject targets pass there (unsafe). */
const NO_HOSTNAME_CHECK = 3
/** From this run on, 2% of the targets serve a re-issued leaf under another intermediate. */
const CHAIN_CHANGE_RUN = 5
const GROUPS = ['iot', 'api', 'cdn', 'cloud', 'shop', 'mail', 'auth', 'data']

/**
 * $XDG_CACHE_HOME/tlsmatrix (else ~/.cache/tlsmatrix): this user's, kept from run to run. Not the
 * system temporary directory, where a fixed name is every user's to create first.
 */
export function benchCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tlsmatrix')
}

export async function reportBenchDb(opts: ReportDbOptions = {}): Promise<ReportDb> {
  const targets = opts.targets ?? 10_000
  const dir = opts.dir ?? join(benchCacheDir(), `bench-report-${REPORT_DB_VERSION}-${targets}`)
  const path = join(dir, 'report.db')
  if (existsSync(path)) {
    const db = openDb(path)
    try {
      const runIds = (db.prepare('SELECT id FROM runs ORDER BY started_at').all() as Array<{ id: string }>).map(
        (r) => r.id,
      )
      return { path, generated: false, targets, versions: runIds.length, runIds }
    } finally {
      db.close()
    }
  }
  mkdirSync(dir, { recursive: true })
  // Built beside, renamed when complete: an interrupted generation is never mistaken for a cache.
  const tmp = join(dir, `report.db.${process.pid}.tmp`)
  rmSync(tmp, { force: true })
  const runIds = await generate(tmp, targets, opts.log ?? (() => {}))
  renameSync(tmp, path)
  return { path, generated: true, targets, versions: VERSIONS, runIds }
}

/** Deterministic pseudo-random numbers in [0, 1) from any key. */
function rand(...key: Array<string | number>): number {
  return createHash('sha1').update(key.join('|')).digest().readUInt32BE(0) / 2 ** 32
}

const hex = (b: Buffer) => b.toString('hex')
const pad = (n: number, w: number) => String(n).padStart(w, '0')

interface Cert {
  der: Buffer
  parsed: ParsedCert
  sha256: string
  ski: string
}

function cert(der: Buffer): Cert {
  const parsed = parseCertificate(der)
  return { der, parsed, sha256: parsed.info.sha256, ski: parsed.info.ski ?? '' }
}

interface TargetInfo {
  index: number
  id: string
  host: string
  port: number
  path: string
  tags: string[]
  expect: 'pass' | 'fail' | null
  int: number
  intSpec: BenchKeySpec
  ecdheOnly: boolean
  wrongName: boolean
  leaf: Cert
  /** The chain from CHAIN_CHANGE_RUN on, for the targets whose certificate is re-issued. */
  reissued: { leaf: Cert; int: number } | null
}

async function profilesFor(): Promise<FirmwareProfile[]> {
  const [v100, v110] = await Promise.all([loadProfile('spwf04sa-1.0.0'), loadProfile('spwf04sa-1.1.0')])
  return MAX_BITS.map((maxBits, n) => {
    const base = structuredClone(n === 0 ? v100 : v110)
    const firmware = `1.${n}.0`
    return {
      ...base,
      id: `spwf04sa-${firmware}`,
      firmware,
      build:
        n <= 1
          ? base.build
          : `18${pad(n, 2)}15-${hex(createHash('sha1').update(firmware).digest()).slice(0, 7)}-SPWF04S`,
      notes: [
        ...base.notes,
        `bench: derived from ${base.id}; RSA keys up to ${maxBits} bits${n === NO_HOSTNAME_CHECK ? '; no host-name check' : ''}`,
      ],
      tls: {
        ...base.tls,
        certificateKeys: { ...base.tls.certificateKeys, rsa: { ...base.tls.certificateKeys.rsa, maxBits } },
        checkHostname: n !== NO_HOSTNAME_CHECK,
      },
    }
  })
}

async function pki(targetCount: number, now: Date, log: (l: string) => void) {
  const t0 = performance.now()
  const rootSpec = (r: number): BenchKeySpec => (r < 12 ? 'rsa-2048' : 'ec-p384')
  const intSpec = (j: number): BenchKeySpec => (j % 10 < 6 ? 'ec-p256' : j % 10 < 9 ? 'rsa-2048' : 'rsa-4096')
  const [rootKeys, intKeys, rsaLeafKeys] = await Promise.all([
    Promise.all(Array.from({ length: ROOTS }, (_, r) => benchKey(rootSpec(r)))),
    Promise.all(Array.from({ length: INTERMEDIATES }, (_, j) => benchKey(intSpec(j)))),
    // RSA leaves share a small pool of keys: 4,000 RSA key generations would take minutes.
    Promise.all(Array.from({ length: 16 }, () => benchKey('rsa-2048'))),
  ])
  const roots: Array<BenchCa & { cert: Cert }> = rootKeys.map((key, r) => {
    const dn: Array<[string, string]> = [
      ['C', 'US'],
      ['O', `Bench Trust ${r}`],
      ['CN', `Bench Trust Root CA ${r}${key.spec.startsWith('ec') ? ' ECC' : ''}`],
    ]
    const der = issue({
      id: `root-${r}`,
      subject: dn,
      key,
      issuer: null,
      ca: true,
      notBefore: daysFrom(now, -3000),
      notAfter: daysFrom(now, 4000 + r),
    })
    return { name: `root-${r}`, dn, key, der, cert: cert(der) }
  })
  const ints: Array<BenchCa & { cert: Cert; spec: BenchKeySpec }> = intKeys.map((key, j) => {
    const root = roots[j % ROOTS]!
    const dn: Array<[string, string]> = [
      ['C', 'US'],
      ['O', `Bench Trust ${j % ROOTS}`],
      ['CN', `Bench Issuing CA ${j}${key.spec === 'rsa-4096' ? ' RSA4096' : ''}`],
    ]
    // Two intermediates expire within the month: the report's expiry section lists their targets.
    const notAfter = daysFrom(now, j === 5 || j === 17 ? 20 + j : 1500 + j)
    const der = issue({
      id: `int-${j}`,
      subject: dn,
      key,
      issuer: root,
      ca: true,
      notBefore: daysFrom(now, -700),
      notAfter,
    })
    return { name: `int-${j}`, dn, key, der, cert: cert(der), spec: key.spec }
  })
  const leafFor = (i: number, host: string, j: number, key: BenchKey, reissue: boolean, wrongName: boolean): Cert => {
    // Spread over the next ~2.5 years; ~2% already expired, ~3% expire within 30 days.
    const notAfter = reissue ? daysFrom(now, 360 + (i % 30)) : daysFrom(now, ((i * 37) % 900) - 20)
    const sans = wrongName ? [`www.other-${host}`] : [host]
    return cert(
      issue({
        id: `leaf-${i}${reissue ? '-r' : ''}`,
        subject: [['CN', sans[0]!]],
        key,
        issuer: ints[j]!,
        ca: false,
        notBefore: daysFrom(notAfter, -398),
        notAfter,
        sans,
      }),
    )
  }
  const targets: TargetInfo[] = []
  for (let i = 0; i < targetCount; i++) {
    const group = GROUPS[i % GROUPS.length]!
    const host = `t${pad(i, 5)}.${group}.bench.test`
    const j = (i * 7) % INTERMEDIATES
    const spec = intSpec(j)
    const key = (s: BenchKeySpec) => (s === 'ec-p256' ? ecLeafKey() : rsaLeafKeys[i % rsaLeafKeys.length]!)
    const ecdheOnly = i % 20 === 3
    const wrongName = i % 89 === 7
    const tags = [
      group,
      ...(ecdheOnly ? ['ecdhe-only'] : []),
      ...(spec === 'rsa-4096' ? ['rsa4096'] : []),
      ...(i % 100 === 0 ? ['critical'] : []),
    ]
    const port = i % 10 === 9 ? 8443 : 443
    const reissuedInt = (j + 1) % INTERMEDIATES
    targets.push({
      index: i,
      id: `${host}:${port}`,
      host,
      port,
      path: i % 4 === 1 ? '/health' : '/',
      tags,
      expect: wrongName ? 'fail' : i % 100 === 0 ? 'pass' : null,
      int: j,
      intSpec: spec,
      ecdheOnly,
      wrongName,
      leaf: leafFor(i, host, j, key(spec), false, wrongName),
      reissued:
        i % 50 === 7
          ? { int: reissuedInt, leaf: leafFor(i, host, reissuedInt, key(intSpec(reissuedInt)), true, wrongName) }
          : null,
    })
  }
  log(
    `  PKI: ${ROOTS} roots, ${INTERMEDIATES} intermediates, ${targets.length + targets.filter((t) => t.reissued).length} leaves in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  return { roots, ints, targets }
}

interface Verdict {
  outcome: 'pass' | 'fail' | 'not-run'
  class: string | null
  reason: { reason: string; detail: string } | null
  lines: string[]
  try: number
}

function errorLines(profile: FirmwareProfile, cls: string, n = 0): string[] {
  const lines = (profile.errors as Record<string, string[]>)[cls] ?? ['AT-S.Http Client Error:2']
  return [...lines.map((l) => l.replace('{n}', String(n))), 'AT-S.ERROR:111:Request failed']
}

function verdict(
  v: number,
  profile: FirmwareProfile,
  t: TargetInfo,
  anchor: number,
  runStart: Date,
  intSpec: BenchKeySpec,
  leaf: Cert,
): Verdict {
  const r = rand('outcome', v, t.index, anchor)
  const getLine = `AT+S.HTTPGET=${t.host},${t.path},${t.port},2,,,,`
  if (r < 0.015) {
    return {
      outcome: 'not-run',
      class: null,
      try: 2,
      lines: ['AT-S.Skip CA', 'AT-S.Loading:1:2'],
      reason: {
        reason: 'link',
        detail: `AT_TIMEOUT: no final answer to ${getLine} within 60000 ms (got 2 lines: AT-S.Skip CA | AT-S.Loading:1:2)`,
      },
    }
  }
  if (r < 0.02) {
    return {
      outcome: 'not-run',
      class: null,
      try: 2,
      lines: ['AT-S.Certificate Error:31', 'AT-S.Http Client Error:2', 'AT-S.ERROR:111:Request failed'],
      reason: { reason: 'unrecognized', detail: `the module's lines match no entry of the ${profile.id} error table` },
    }
  }
  // Failures found after the CA was loaded (validity, name, HTTP) print the loading lines first.
  const loaded = (cls: string) =>
    cls === 'expired' || cls === 'hostname' || cls === 'http' ? ['AT-S.Skip CA', 'AT-S.Loading:1:2'] : []
  const fail = (cls: string, n = 0): Verdict => ({
    outcome: 'fail',
    class: cls,
    reason: null,
    try: 1,
    lines: [...loaded(cls), ...errorLines(profile, cls, n)],
  })
  const ecChain = intSpec !== 'rsa-2048' && intSpec !== 'rsa-4096'
  if (profile.tls.certificateKeys.ecdsa.length === 0 && ecChain) return fail('handshake')
  if (!profile.tls.cipherSuites.some((s) => s.includes('ECDHE')) && t.ecdheOnly) return fail('handshake')
  if (intSpec === 'rsa-4096' && profile.tls.certificateKeys.rsa.maxBits < 4096) return fail('key-unsupported')
  if (Date.parse(leaf.parsed.info.notAfter) < runStart.getTime()) return fail('expired')
  if (t.wrongName && profile.tls.checkHostname) return fail('hostname')
  // The intermediate alone is not enough for this CA family's modules: only its root works.
  if (anchor === 1 && t.int % 10 === 3) return fail('untrusted')
  const r2 = rand('transient', v, t.index, anchor)
  if (r2 < 0.01) return fail('connect')
  if (r2 < 0.02) return fail('http', 503)
  return {
    outcome: 'pass',
    class: null,
    reason: null,
    try: 1,
    lines: ['AT-S.Skip CA', 'AT-S.Loading:1:2', 'AT-S.Http Server Status Code:200', 'AT-S.OK'],
  }
}

/** What the module's line looked like on the wire: the command, then its answer in chunks. */
function transcript(t: TargetInfo, v: Verdict, start: number, bodyBytes: number, seed: number): TranscriptEntry[] {
  const out: TranscriptEntry[] = [{ dir: 'tx', t: start, data: `AT+S.HTTPGET=${t.host},${t.path},${t.port},2,,,,\r` }]
  let at = start + 40 + seed * 300
  const rx = (data: string) => {
    at = Math.round((at + 2 + seed * 30) * 10) / 10
    out.push({ dir: 'rx', t: at, data })
  }
  for (const line of v.lines) {
    if (line === 'AT-S.OK') {
      const body = `{"status":"ok","host":"${t.host}","path":"${t.path}","pad":"${'x'.repeat(Math.max(0, bodyBytes - 60))}"}\n`
      const chunks = 2 + Math.floor(seed * 3)
      const size = Math.ceil(body.length / chunks)
      for (let c = 0; c < chunks; c++) rx(body.slice(c * size, (c + 1) * size))
    }
    rx(`${line}\r\n`)
  }
  if (v.reason?.reason === 'link')
    out.push({ dir: 'note', t: Math.round(start + 60_000), data: 'no final answer within 60000 ms' })
  return out
}

function upload(anchor: Cert): CaUpload {
  return {
    command: `AT+S.TLSCERT=ca,${anchor.der.length}`,
    ski: anchor.ski,
    lines: [`AT-S.SubjectKeyId:${anchor.ski.toUpperCase().match(/../g)!.join(':')}`],
  }
}

function runId(d: Date, v: number): string {
  const iso = d.toISOString()
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${hex(createHash('sha1').update(`run-${v}`).digest()).slice(0, 4)}`
}

function certRow(c: Cert, firstSeen: string) {
  const i = c.parsed.info
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

async function generate(path: string, targetCount: number, log: (l: string) => void): Promise<string[]> {
  const t0 = performance.now()
  const now = new Date()
  const profiles = await profilesFor()
  const { roots, ints, targets } = await pki(targetCount, now, log)
  const hostsText =
    targets
      .map(
        (t) =>
          `${t.id}${t.path !== '/' ? t.path : ''} tags=${t.tags.join(',')}${t.expect ? ` expect=${t.expect}` : ''}`,
      )
      .join('\n') + '\n'
  const runTargets: RunTarget[] = targets.map((t, i) => ({
    id: t.id,
    host: t.host,
    port: t.port,
    path: t.path,
    tags: t.tags,
    expect: t.expect,
    line: i + 1,
  }))
  const broadHello = helloHash(DEFAULT_HELLO)
  const db = openDb(path)
  const insertCert = db.prepare(`INSERT OR IGNORE INTO certificates
    (sha256, der, subject, issuer, serial, ski, aki, key_type, key_bits, key_curve, signature, not_before, not_after, is_ca, self_signed, first_seen)
    VALUES (@sha256, @der, @subject, @issuer, @serial, @ski, @aki, @keyType, @keyBits, @keyCurve, @signature, @notBefore, @notAfter, @isCA, @selfSigned, @firstSeen)`)
  const insertObs = db.prepare(`INSERT INTO observations
    (target, host, port, observed_at, hello, ip, sni, protocol, cipher, capture, served, chain_hash, error_code, error_message, timings, anchors, aia_errors, run_id, connect_port)
    VALUES (@target, @host, @port, @observedAt, @hello, @ip, @sni, @protocol, @cipher, @capture, @served, @chainHash, @errorCode, @errorMessage, @timings, @anchors, @aiaErrors, @runId, @connectPort)`)
  const insertRun =
    db.prepare(`INSERT INTO runs (id, label, started_at, ended_at, status, tool_version, hosts_file, hosts_hash, trust_store_hash, devices, options, plan, profiles, targets)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertAttempt =
    db.prepare(`INSERT INTO attempts (run_id, device, module, firmware, profile, target, host, port, path, anchor_sha256, anchor_subject, anchor_source,
    try, final, outcome, class, reason, reason_detail, ca_upload, lines, http_status, body_bytes, duration_ms, expect, observation_id, transcript, recorded_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const trustHash = createHash('sha256')
    .update(Buffer.concat(roots.map((r) => r.der)))
    .digest('hex')
  const hostsHash = createHash('sha256').update(hostsText).digest('hex')
  const runIds: string[] = []
  try {
    for (let v = 0; v < VERSIONS; v++) {
      const profile = profiles[v]!
      const label = profile.id
      const start = daysFrom(now, -14 * (VERSIONS - v) + 0.3)
      const id = runId(start, v)
      runIds.push(id)
      const deviceHello = helloHash(helloOf(profile))
      const at = (ms: number) => new Date(start.getTime() + ms).toISOString()
      const plans = new Map<string, { anchor: PlannedAnchor; items: PlanItem[] }>()
      const work = new Map<PlanItem, { t: TargetInfo; verdict: Verdict; anchor: Cert }>()
      let clock = 5_000
      let requests = 0
      const runLabel = `firmware ${profile.firmware} regression`
      const options = {
        hosts: '/srv/tlsmatrix/hosts.txt',
        device: [`${label}=/dev/ttyUSB0?baud=115200`],
        profiles: [],
        anchors: 'all',
        label: runLabel,
        resolve: [],
        connectTo: [],
        trustStore: ['/srv/tlsmatrix/trust.pem'],
        trustStoreOnly: false,
        aiaAllowPrivate: false,
        concurrency: 32,
        timeoutMs: 10_000,
        deviceTimeoutMs: 60_000,
      }
      const device: RunDevice = {
        label,
        url: '/dev/ttyUSB0?baud=115200',
        module: profile.module,
        firmware: profile.firmware,
        build: profile.build,
        profile: profile.id,
        warning: null,
        lost: null,
      }
      db.transaction(() => {
        // As RunStore.createRun: the run first (attempts reference it), its plan once complete.
        insertRun.run(
          id,
          runLabel,
          at(0),
          null,
          'running',
          '0.1.0',
          '/srv/tlsmatrix/hosts.txt',
          hostsHash,
          trustHash,
          JSON.stringify([device]),
          JSON.stringify(options),
          null,
          JSON.stringify({ [label]: profile }),
          JSON.stringify(runTargets),
        )
        const firstSeen = at(0)
        if (v === 0)
          for (const c of [...roots.map((r) => r.cert), ...ints.map((x) => x.cert), ...targets.map((t) => t.leaf)])
            insertCert.run(certRow(c, firstSeen))
        if (v === CHAIN_CHANGE_RUN)
          for (const t of targets) if (t.reissued) insertCert.run(certRow(t.reissued.leaf, firstSeen))
        for (const t of targets) {
          const changed = v >= CHAIN_CHANGE_RUN && t.reissued
          const leaf = changed ? t.reissued!.leaf : t.leaf
          const int = ints[changed ? t.reissued!.int : t.int]!
          const root = roots[(changed ? t.reissued!.int : t.int) % ROOTS]!
          const served = [leaf.sha256, int.cert.sha256]
          const chainHash = createHash('sha256').update(served.join(',')).digest('hex')
          const anchorsJson = JSON.stringify([
            {
              sha256: root.cert.sha256,
              source: 'store',
              kind: 'root',
              match: ['path', 'ski-aki'],
              paths: [[leaf.sha256, int.cert.sha256, root.cert.sha256]],
            },
            {
              sha256: int.cert.sha256,
              source: 'served',
              kind: 'intermediate',
              match: ['ski-aki'],
              paths: [[leaf.sha256, int.cert.sha256]],
            },
          ])
          const ec = int.spec === 'ec-p256'
          const tls13 = t.index % 3 === 0
          const common = {
            target: t.id,
            host: t.host,
            port: t.port,
            ip: `198.51.100.${1 + (t.index % 250)}`,
            sni: t.host,
            aiaErrors: '[]',
            runId: id,
            connectPort: t.port,
          }
          const timings = (k: string) => {
            const [dnsMs, connectMs, handshakeMs] = ['dns', 'connect', 'handshake'].map(
              (x, n) => Math.round(rand(k, x, v, t.index) * 400 * (n + 1)) / 10,
            ) as [number, number, number]
            return JSON.stringify({
              dnsMs,
              connectMs,
              handshakeMs,
              totalMs: Math.round((dnsMs + connectMs + handshakeMs) * 10) / 10,
            })
          }
          clock += 40
          const broadId = Number(
            insertObs.run({
              ...common,
              observedAt: at(clock),
              hello: broadHello,
              protocol: tls13 ? 'TLSv1.3' : 'TLSv1.2',
              cipher: tls13
                ? 'TLS_AES_128_GCM_SHA256'
                : ec
                  ? 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'
                  : 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
              capture: tls13 ? 'reconstructed' : 'wire',
              served: JSON.stringify(served),
              chainHash,
              errorCode: null,
              errorMessage: null,
              timings: timings('b'),
              anchors: anchorsJson,
            }).lastInsertRowid,
          )
          // The module's own hello: a version without ECDHE/ECDSA is refused by those servers.
          const refused = profile.tls.certificateKeys.ecdsa.length === 0 && (ec || t.ecdheOnly)
          clock += 40
          const deviceId = Number(
            insertObs.run({
              ...common,
              observedAt: at(clock),
              hello: deviceHello,
              protocol: refused ? null : 'TLSv1.2',
              cipher: refused ? null : (profile.tls.cipherSuites.find((s) => s.includes(ec ? 'ECDSA' : 'RSA')) ?? null),
              capture: refused ? null : 'wire',
              served: refused ? '[]' : JSON.stringify(served),
              chainHash: refused ? null : chainHash,
              errorCode: refused ? 'tls-alert:handshake-failure' : null,
              errorMessage: refused ? 'the server sent a TLS alert: handshake failure' : null,
              timings: timings('d'),
              anchors: refused ? '[]' : anchorsJson,
            }).lastInsertRowid,
          )
          const observationId = refused ? broadId : deviceId
          for (const [a, anchor, source, kind] of [
            [0, root.cert, 'store', 'root'],
            [1, int.cert, 'served', 'intermediate'],
          ] as const) {
            const planned: PlannedAnchor = {
              sha256: anchor.sha256,
              subject: anchor.parsed.info.subject,
              source,
              kind,
              uploadBytes: anchor.der.length,
            }
            const item: PlanItem = {
              target: t.id,
              host: t.host,
              port: t.port,
              path: t.path,
              expect: t.expect,
              observationId,
              anchor: planned,
              skip: null,
            }
            const group = plans.get(planned.sha256) ?? { anchor: planned, items: [] }
            group.items.push(item)
            plans.set(planned.sha256, group)
            work.set(item, { t, verdict: verdict(v, profile, t, a, start, int.spec, leaf), anchor })
          }
        }
        // The survey works one anchor at a time (uploads = distinct anchors): attempts in that order.
        for (const group of plans.values()) {
          clock += 900
          for (const item of group.items) {
            const { t, verdict: verd, anchor } = work.get(item)!
            const seed = rand('seed', v, t.index, anchor.sha256)
            const bodyBytes = verd.outcome === 'pass' ? 70 + Math.floor(seed * 300) : 0
            const duration = verd.reason?.reason === 'link' ? 120_400 : Math.round(300 + seed * 2500)
            const entries = transcript(t, verd, clock, bodyBytes, seed)
            clock += duration
            requests++
            insertAttempt.run(
              id,
              label,
              profile.module,
              profile.firmware,
              profile.id,
              t.id,
              t.host,
              t.port,
              t.path,
              anchor.sha256,
              item.anchor!.subject,
              item.anchor!.source,
              verd.try,
              1,
              verd.outcome,
              verd.class,
              verd.reason?.reason ?? null,
              verd.reason?.detail ?? null,
              JSON.stringify(upload(anchor)),
              JSON.stringify(verd.lines),
              verd.outcome === 'pass' ? 200 : verd.class === 'http' ? 503 : null,
              bodyBytes,
              duration,
              t.expect,
              item.observationId,
              JSON.stringify(entries),
              at(clock),
            )
          }
        }
        const plan: DevicePlan[] = [{ device: label, groups: [...plans.values()], skipped: [] }]
        db.prepare('UPDATE runs SET plan = ?, devices = ?, status = ?, ended_at = ? WHERE id = ?').run(
          JSON.stringify(plan),
          JSON.stringify([{ ...device, uploads: plans.size, requests }]),
          'complete',
          at(clock + 2_000),
          id,
        )
      })()
      log(`  run ${v + 1}/${VERSIONS} (${profile.id}): ${id}, ${requests} attempts`)
    }
  } finally {
    db.close()
  }
  log(`  generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return runIds
}
