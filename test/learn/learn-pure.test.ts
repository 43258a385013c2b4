import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadProfile } from '../../src/families/index.js'
import { errorEntry, httpTemplate } from '../../src/learn/error-lines.js'
import { compareLearned, sameValue } from '../../src/learn/fields.js'
import { searchLargest } from '../../src/learn/search.js'

test('the size search finds the largest accepted size within the resolution, from the top down, in few steps', async () => {
  for (const limit of [1500, 2560, 3000, 4092, 9000]) {
    let steps = 0
    const r = await searchLargest(1000, 16_384, 64, (t) => {
      steps++
      return Promise.resolve({ ok: t <= limit, size: t })
    })
    assert.ok(r.largest <= limit && limit - r.largest < 64, `${limit}: ${r.largest}`)
    assert.ok(r.smallestFailing! > limit && r.smallestFailing! - r.largest <= 64)
    assert.ok(steps <= 10, `${steps} steps`)
  }
  const none = await searchLargest(1000, 16_384, 64, (t) => Promise.resolve({ ok: true, size: t }))
  assert.deepEqual(none, { largest: 16_384, smallestFailing: null, incomplete: false })
  // A probe without a verdict stops the search: what is known so far, marked incomplete.
  let n = 0
  const cut = await searchLargest(1000, 16_384, 64, (t) =>
    Promise.resolve(++n === 3 ? { ok: null, size: t } : { ok: t <= 5000, size: t }),
  )
  assert.equal(cut.incomplete, true)
  // Sizes measured otherwise than targets (PEM uploads for DER targets) are what the gap counts.
  const pem = await searchLargest(
    1000,
    16_384,
    64,
    (t) => Promise.resolve({ ok: Math.ceil((t * 4) / 3) <= 4092, size: Math.ceil((t * 4) / 3) }),
    1334,
  )
  assert.ok(pem.largest <= 4092 && 4092 - pem.largest < 64, String(pem.largest))
})

test('error lines: the lines most probes agree on; http lines keep the status and reason as placeholders', () => {
  const e = errorEntry('untrusted', [
    { lines: ['AT-S.Certificate Error:23', 'AT-S.Http Client Error:2'], attempt: 4 },
    { lines: ['AT-S.Certificate Errpr:23', 'AT-S.Http Client Error:2'], attempt: 9 },
    { lines: ['AT-S.Certificate Error:23', 'AT-S.Http Client Error:2'], attempt: 12 },
  ])
  assert.deepEqual(e, {
    lines: ['AT-S.Certificate Error:23', 'AT-S.Http Client Error:2'],
    attempts: [4, 12],
    others: [['AT-S.Certificate Errpr:23', 'AT-S.Http Client Error:2']],
  })
  assert.equal(errorEntry('dns', []), null)
  assert.equal(httpTemplate('HTTP/1.1 404 Not Found'), 'HTTP/{n}.{n} {n} {text}')
  assert.equal(httpTemplate('AT-S.Http Server Error:404'), 'AT-S.Http Server Error:{n}')
  assert.equal(httpTemplate('HTTP/1.0 503 Try Again In 5'), 'HTTP/{n}.{n} {n} {text}')
  // Only http lines are generalised: a number in another class's line is part of the line.
  assert.deepEqual(errorEntry('dns', [{ lines: ['AT-S.ERROR:65:DNS address failure'], attempt: 2 }])!.lines, [
    'AT-S.ERROR:65:DNS address failure',
  ])
})

test('a learned profile is compared on the fields it measured: sizes within 64 bytes below, sets unordered, assumed fields skipped', async () => {
  assert.equal(sameValue('tls.maxCertificateBytes', 2558, 2560), true)
  assert.equal(sameValue('tls.maxCertificateBytes', 2490, 2560), false)
  assert.equal(sameValue('tls.maxCertificateBytes', 2600, 2560), false, 'never above the real limit')
  assert.equal(sameValue('tls.maxChainBytes', null, null), true)
  assert.equal(sameValue('tls.certificateSignatureHashes', ['sha256', 'sha1'], ['sha1', 'sha256']), true)
  assert.equal(sameValue('tls.cipherSuites', ['A', 'B'], ['B', 'A']), false, "the hello's order is what is sent")
  const src = await loadProfile('spwf04sa-1.1.0')
  const learned = structuredClone(src)
  learned.tls.checkHostname = false
  learned.store.maxCaBytes = 100
  learned.learned = {
    tool: 't',
    runId: 'r',
    device: 'd',
    at: 'a',
    base: src.id,
    cost: { uploads: 0, requests: 0, deviceMs: 0 },
    unknown: [],
    facts: {},
    fields: {
      'tls.checkHostname': { method: 'probe', attempts: [1] },
      'store.maxCaBytes': { method: 'assumed', attempts: [] },
    },
  }
  assert.deepEqual(compareLearned(learned, src), [{ field: 'tls.checkHostname', learned: false, other: true }])
})

test('the clock class: its own lines when the module has some; none when it prints the expired lines; unspecified when it prints ERROR for everything', async () => {
  const { buildProfile } = await import('../../src/learn/build-profile.js')
  const { Findings } = await import('../../src/learn/findings.js')
  const base = await loadProfile('esp-at-5.0-esp32c5')
  const build = (lines: Record<string, string[]>) => {
    const found = new Findings()
    let n = 1
    for (const [cls, l] of Object.entries(lines)) found.lines(cls as never, l, n++)
    return buildProfile({
      identity: { module: base.module, firmware: base.firmware, build: base.build, dialect: base.dialect },
      base,
      found,
      defaultWhy: 'not reached',
      trim: (l) => [...l],
      meta: {
        tool: 'test',
        device: 'test',
        at: '2026-11-28T00:00:00Z',
        runId: 'r',
        cost: { uploads: 0, requests: 0, deviceMs: 0 },
      },
    })
  }
  const own = build({ expired: ['+ERRNO:0x1'], clock: ['+ERRNO:0x200'] })
  assert.deepEqual(own.errors.clock, ['+ERRNO:0x200'])
  assert.equal(own.learned!.fields['errors.clock']!.method, 'probe')
  const asExpired = build({ expired: ['AT-S.Certificate Error:24'], clock: ['AT-S.Certificate Error:24'] })
  assert.equal(asExpired.errors.clock, undefined, 'no entry of its own: the classifier says expired')
  assert.deepEqual(asExpired.errors.expired, ['AT-S.Certificate Error:24'])
  assert.match(asExpired.learned!.fields['errors.clock']!.note ?? '', /errors\.expired's lines/)
  assert.ok(!asExpired.learned!.unknown.some((u) => u.field === 'errors.clock'))
  const bare = build({ expired: ['ERROR'], clock: ['ERROR'], untrusted: ['ERROR'], hostname: ['ERROR'] })
  assert.deepEqual(bare.errors.unspecified, ['ERROR'])
  assert.equal(bare.errors.clock, undefined)
  assert.match(bare.learned!.fields['errors.clock']!.note ?? '', /errors\.unspecified/)
})

test('a budget spent in the middle of the key probes: the key fields left unknown say it was the budget', async () => {
  const { learn, LearnKit, ProbePki, BudgetSpent } = await import('../../src/learn/index.js')
  const asked: string[] = []
  // The module side as a script: every probe passes (the hello one shows a ClientHello), until the
  // first key probe, where the budget is spent. Learn sees only what a session returns.
  const session = {
    budgetLeftMs: () => null,
    tryUpload: () => Promise.resolve({ id: 'u', attemptId: 1, accepted: true, bytes: 0, lines: [] }),
    request: (p: { id: string }) => {
      asked.push(p.id)
      if (p.id === 'key.intermediate.rsa-1024') return Promise.reject(new BudgetSpent())
      const hello = {
        cipherSuites: ['TLS_RSA_WITH_AES_128_CBC_SHA'],
        groups: ['secp256r1'],
        signatureAlgorithms: ['rsa_pkcs1_sha256'],
        sni: 'probe.test',
        legacyVersion: 'TLSv1.2',
        supportedVersions: null,
        scsv: false,
        compression: [0],
        extensions: [],
      }
      return Promise.resolve({
        id: p.id,
        attemptId: asked.length,
        outcome: p.id === 'hello' ? 'fail' : 'pass',
        lines: [],
        errorLines: [],
        httpStatus: 200,
        connections: p.id === 'hello' ? [{ hello, completed: false }] : [],
        replayed: false,
      })
    },
  }
  const names = { host: 'probe.test', otherHost: 'other.test', nxHost: 'nx.invalid', port: 1, closedPort: 2 }
  const now = new Date()
  const kit = new LearnKit(session as never, new ProbePki(now), {} as never, names, now)
  const end = await learn(kit)
  assert.equal(end.stoppedBy, 'budget')
  assert.equal(asked.at(-1), 'key.intermediate.rsa-1024')
  for (const field of ['tls.certificateKeys.rsa', 'tls.certificateKeys.ecdsa'] as const)
    assert.match(kit.found.why.get(field) ?? '', /budget/, field)
})
