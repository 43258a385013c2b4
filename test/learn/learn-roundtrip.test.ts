import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { run } from '../../src/cli/run.js'
import { type FirmwareProfile } from '../../src/profile/index.js'
import { loadAllProfiles, loadProfile, validateProfile } from '../../src/families/index.js'
import { compareLearned, FIELD_PATHS } from '../../src/learn/index.js'
import { testIo } from '../helpers/io.js'

/**
 * Learn each profile back from an emulator running it: every field learn says it measured must
 * equal the source (sizes within the search's 64 bytes). The emulator is a separate process on a
 * pseudo-terminal; learn sees only its bytes. A module time-out of 5 s keeps the stall probe short
 * and still leaves a busy machine's handshakes (RSA-4096) time to complete.
 * Three learns run at once: each waits on its line and its module most of the time, and the runs
 * share the process's probe keys (ProbePki), so only the first ones pay for key generation.
 */
const AT_ONCE = 3

/** Two profiles nobody ships, so a learn that copied a shipped profile would be caught. */
function unusual(
  base: FirmwareProfile,
  id: string,
  firmware: string,
  change: (p: FirmwareProfile) => void,
): FirmwareProfile {
  const p = structuredClone(base)
  p.id = id
  p.firmware = firmware
  p.build = `${firmware}-test`
  change(p)
  return p
}

const SHIPPED = (await loadAllProfiles()).map((p) => p.id)

const MEASURED_ALWAYS = [
  'tls.versions',
  'tls.cipherSuites',
  'tls.groups',
  'tls.signatureAlgorithms',
  'tls.sni',
  'tls.certificateKeys.rsa',
  'tls.certificateKeys.ecdsa',
  'tls.certificateSignatureHashes',
  'tls.maxCertificateBytes',
  'tls.maxChainBytes',
  'tls.anchorMatch',
  'tls.checkValidity',
  'tls.checkHostname',
  'store.maxCaBytes',
  'errors.handshake',
  'errors.untrusted',
  'errors.key-unsupported',
  'errors.connect',
  'errors.dns',
  'errors.http',
  'errors.timeout',
]

describe('tlsmatrix learn: round trip through the emulator', { timeout: 3_600_000, concurrency: AT_ONCE }, () => {
  let dir: string
  const sources: Array<{ file: string; profile: FirmwareProfile }> = []
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-learn-'))
    for (const p of await loadAllProfiles()) sources.push({ file: p.id, profile: p })
    const s04 = await loadProfile('spwf04sa-1.1.0')
    const s01 = await loadProfile('spwf01sa-3.5.3')
    const a = unusual(s04, 'test-spwf04-unusual', '7.3.1', (p) => {
      p.tls.certificateKeys = { rsa: { minBits: 2048, maxBits: 3072 }, ecdsa: ['P-384'] }
      p.tls.groups = ['secp384r1']
      p.tls.signatureAlgorithms = ['ecdsa_secp384r1_sha384', 'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384']
      p.tls.cipherSuites = [
        'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_RSA_WITH_AES_128_CBC_SHA',
      ]
      p.tls.versions = ['TLSv1.2']
      p.tls.certificateSignatureHashes = ['sha256', 'sha384', 'sha512']
      p.tls.anchorMatch = 'path'
      p.tls.checkHostname = false
      p.tls.maxCertificateBytes = 3000
      p.store.maxCaBytes = 3500
      p.errors.untrusted = ['AT-S.Certificate Error:31', 'AT-S.Http Client Error:2']
      p.errors['key-unsupported'] = ['AT-S.Certificate Error:30', 'AT-S.Http Client Error:2']
    })
    const b = unusual(s01, 'test-spwf01-unusual', '3.9.9', (p) => {
      p.tls.certificateKeys = { rsa: { minBits: 2048, maxBits: 4096 }, ecdsa: [] }
      p.tls.certificateSignatureHashes = ['sha256', 'sha384', 'sha512', 'rsa-pss']
      p.tls.maxChainBytes = 6000
      p.tls.checkValidity = false
      p.tls.sni = false
      p.tls.versions = ['TLSv1.1', 'TLSv1.2']
    })
    for (const p of [a, b]) {
      const file = join(dir, `${p.id}.json`)
      writeFileSync(file, JSON.stringify(p, null, 2))
      sources.push({ file, profile: p })
    }
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  // One test per profile: every shipped one (a profile added to data/firmware is learned back too) and the two above.
  for (const id of [...SHIPPED, 'test-spwf04-unusual', 'test-spwf01-unusual']) {
    test(`${id}: every measured field equals the source`, async () => {
      const src = sources.find((s) => s.profile.id === id)!
      const out = join(dir, `${id}.learned.json`)
      const db = join(dir, `${id}.db`)
      const io = testIo({ cwd: dir })
      const code = await run(
        ['learn', '--device', `emu:${src.file}?request-timeout-ms=5000`, '--out', out, '--db', db, '--json'],
        io,
      )
      assert.equal(code, 0, io.err())
      const learned = validateProfile(JSON.parse(readFileSync(out, 'utf8')), out)
      const l = learned.learned!
      assert.deepEqual(compareLearned(learned, src.profile), [], `learned vs ${id}`)
      // What a round trip rests on was really measured, not assumed.
      const assumed = MEASURED_ALWAYS.filter((f) => l.fields[f]?.method === 'assumed')
      const expectedAssumed = [
        ...(src.profile.tls.checkValidity ? [] : ['errors.expired']),
        ...(src.profile.tls.checkHostname ? [] : ['errors.hostname']),
        // A leaf too large for the chain limit fails whatever its own limit: that one stays unknown.
        ...(src.profile.tls.maxChainBytes === null ? [] : ['tls.maxCertificateBytes']),
        // An SPWF01SA says only its build; no shipped profile knows this one's, so its version is unknown.
        ...(id === 'test-spwf01-unusual' ? ['firmware'] : []),
        // A module that checks no dates fails nothing for its clock; and these modules print their own lines per class.
        ...(src.profile.tls.checkValidity ? [] : ['errors.clock']),
        ...(src.profile.errors.unspecified ? [] : ['errors.unspecified']),
        // Nothing was too large for a module without limits: it never printed those lines.
        ...(src.profile.tls.maxCertificateBytes === null && src.profile.tls.maxChainBytes === null
          ? ['errors.too-large']
          : []),
      ]
      assert.deepEqual(
        assumed.filter((f) => !expectedAssumed.includes(f)),
        [],
        `assumed: ${JSON.stringify(l.unknown)}`,
      )
      assert.deepEqual(l.unknown.map((u) => u.field).sort(), expectedAssumed.sort())
      for (const f of FIELD_PATHS) assert.ok(l.fields[f], `learned.fields has ${f}`)
      // Each measured field names attempts that exist in the learn run, with their transcripts.
      const sql = new Database(db, { readonly: true })
      try {
        const runRow = sql.prepare('SELECT kind, status FROM runs WHERE id = ?').get(l.runId) as {
          kind: string
          status: string
        }
        assert.deepEqual(runRow, { kind: 'learn', status: 'complete' })
        const ids = new Set(
          (sql.prepare('SELECT id FROM attempts WHERE run_id = ?').all(l.runId) as Array<{ id: number }>).map(
            (r) => r.id,
          ),
        )
        for (const [field, f] of Object.entries(l.fields))
          for (const a of f.attempts) assert.ok(ids.has(a), `${field}: attempt ${a} is in the run`)
        const transcripts = sql
          .prepare("SELECT count(*) AS n FROM attempts WHERE run_id = ? AND transcript != '[]'")
          .get(l.runId) as { n: number }
        assert.ok(transcripts.n >= l.cost.requests - 1, 'requests keep their transcripts')
      } finally {
        sql.close()
      }
      assert.ok(l.cost.uploads <= 40, `${l.cost.uploads} uploads`)
      const j = JSON.parse(io.out()) as {
        cost: { uploads: number; requests: number; deviceMs: number }
        profile: string
      }
      assert.deepEqual(j.cost, l.cost)
      assert.equal(j.profile, out)
      // Usable at once: the loader takes it by path, and another learn compares with it.
      assert.equal((await loadProfile(out)).id, learned.id)
    })
  }
})
