import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCertificate } from '../../src/chain/index.js'
import { displayName } from '../../src/chain/display-name.js'
import { run } from '../../src/cli/run.js'
import { readLabSpec, startLab, type LabSpec, type RunningLab } from '../../src/lab/index.js'
import { loadOrCreatePki } from '../../src/lab/cache.js'
import { describeChainChange, type ChainCertFacts } from '../../src/report/model/chain-change.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { testIo } from '../helpers/io.js'

const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-chain-change-'))
const labs: RunningLab[] = []
after(async () => {
  for (const l of labs) await l.close()
})

/** One host known by port 443 (its id does not move with the listener), a root, an intermediate, a leaf. */
const SPEC = {
  name: 'reissue',
  certificates: {
    root: { subject: 'CN=Reissue Root, O=tlsmatrix lab', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
    int: { subject: 'CN=Reissue Issuing CA, O=tlsmatrix lab', key: 'ec-p256', issuer: 'root', ca: true },
    leaf: { subject: 'CN=reissue.test', key: 'ec-p256', issuer: 'int', sans: ['reissue.test'] },
    // Rotation 1: the same leaf name and key under an intermediate of another name.
    'int-b': { subject: 'CN=Reissue Issuing CA B, O=tlsmatrix lab', key: 'ec-p256', issuer: 'root', ca: true },
    'leaf-b': { subject: 'CN=reissue.test', keyOf: 'leaf', issuer: 'int-b', sans: ['reissue.test'] },
    // Rotation 2: under another root.
    'root-2': { subject: 'CN=Reissue Root 2, O=tlsmatrix lab', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
    'int-2': { subject: 'CN=Reissue Issuing CA, O=tlsmatrix lab', key: 'ec-p256', issuer: 'root-2', ca: true },
    'leaf-2': { subject: 'CN=reissue.test', keyOf: 'leaf', issuer: 'int-2', sans: ['reissue.test'] },
  },
  hosts: {
    'reissue.test': {
      port: 443,
      certificate: 'leaf',
      send: ['leaf', 'int'],
      rotations: [
        { certificate: 'leaf-b', send: ['leaf-b', 'int-b'] },
        { certificate: 'leaf-2', send: ['leaf-2', 'int-2'] },
      ],
    },
  },
}

async function spec(changes: (s: typeof SPEC) => void = () => {}): Promise<LabSpec> {
  const s = structuredClone(SPEC)
  changes(s)
  const file = join(mkdtempSync(join(dir, 'spec-')), 'reissue.json')
  writeFileSync(file, JSON.stringify(s))
  return await readLabSpec(file)
}

async function lab(s: LabSpec, cacheDir: string): Promise<RunningLab> {
  const l = await startLab(s, {
    cacheDir,
    outDir: mkdtempSync(join(dir, 'out-')),
    now: new Date(),
    ephemeralPorts: true,
  })
  labs.push(l)
  return l
}

async function survey(l: RunningLab, db: string): Promise<void> {
  const io = testIo({ inProcess: true })
  const code = await run(
    [
      'run',
      '--hosts',
      l.hostsFile,
      '--trust-store',
      l.trustStoreFile,
      '--trust-store-only',
      '--db',
      db,
      '--device',
      'emu:spwf04sa-1.1.0?no-dns',
      ...l.connectToEntries.flatMap((e) => ['--connect-to', e]),
      ...l.resolveEntries.flatMap((e) => ['--resolve', e]),
    ],
    io,
  )
  assert.ok(code === 0 || code === 1, `survey exit ${code}: ${io.err()}`)
  await l.close()
}

async function report(db: string): Promise<{ model: ReportModel; md: string; html: string }> {
  const out = mkdtempSync(join(dir, 'report-'))
  const io = testIo({ inProcess: true })
  assert.equal(await run(['report', '--db', db, '--out', out, '--format', 'json,md,html'], io), 0, io.err())
  return {
    model: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel,
    md: readFileSync(join(out, 'matrix.md'), 'utf8'),
    html: readFileSync(join(out, 'index.html'), 'utf8'),
  }
}

test('a chain re-issued under the same names reads "re-issued (new keys, same names)", not the same names added and removed', async () => {
  const db = join(mkdtempSync(join(dir, 'db-')), 'h.db')
  const s = await spec()
  // Two labs with their own key caches: every key new, every name the same.
  await survey(await lab(s, mkdtempSync(join(dir, 'cache-'))), db)
  await survey(await lab(s, mkdtempSync(join(dir, 'cache-'))), db)
  const { model, md, html } = await report(db)
  assert.equal(model.chainChanges.length, 1, JSON.stringify(model.chainChanges))
  const c = model.chainChanges[0]!
  assert.equal(c.target, 'reissue.test:443')
  assert.equal(c.summary, 're-issued (new keys, same names)')
  assert.deepEqual(
    c.changes.map((i) => [i.kind, i.role, i.name]),
    [
      ['new-key', 'leaf', 'CN=reissue.test'],
      ['new-key', 'intermediate', 'CN=Reissue Issuing CA, O=tlsmatrix lab'],
      ['new-key', 'root', 'CN=Reissue Root, O=tlsmatrix lab'],
    ],
  )
  assert.ok(c.changes.every((i) => i.before && i.after && i.before !== i.after))
  // Markdown: one Change column with the words and the certificates it covers; no Added / Removed.
  const row = md.split('\n').find((l) => l.startsWith('| reissue.test:443 |') && l.includes('re-issued'))
  assert.ok(row, md)
  assert.match(
    row,
    /\| re-issued \(new keys, same names\): leaf CN=reissue\.test, intermediate CN=Reissue Issuing CA, O=tlsmatrix lab, root CN=Reissue Root, O=tlsmatrix lab \|/,
  )
  assert.doesNotMatch(md, /\| Added \| Removed \|/)
  // HTML: the words, each certificate before → after; no Added / Removed lists.
  const section = /<section id="chain-changes"[\s\S]*?<\/section>/.exec(html)![0]
  assert.match(section, /<dt>Change<\/dt><dd>re-issued \(new keys, same names\)<\/dd>/)
  assert.match(section, /<li>leaf CN=reissue\.test re-issued with a new key \(ECDSA P-256\)<br>/)
  assert.doesNotMatch(section, /<dt>(Added|Removed)<\/dt>/)
})

test('certificates re-issued with the same keys (a lab whose certificates aged out) read "re-certified (same keys, same names)"', async () => {
  const db = join(mkdtempSync(join(dir, 'db-')), 'h.db')
  const cache = mkdtempSync(join(dir, 'cache-'))
  await survey(await lab(await spec(), cache), db)
  // Same key cache, certificates issued again (the spec changed a validity): same keys, new certificates.
  await survey(
    await lab(
      await spec((s) => {
        ;(s.certificates.leaf as Record<string, unknown>).notAfterDays = 200
      }),
      cache,
    ),
    db,
  )
  const { model } = await report(db)
  const c = model.chainChanges[0]!
  assert.equal(c.summary, 're-certified (same keys, same names)')
  assert.deepEqual(
    c.changes.map((i) => [i.kind, i.role]),
    [
      ['same-key', 'leaf'],
      ['same-key', 'intermediate'],
      ['same-key', 'root'],
    ],
  )
})

test('a new intermediate, a new root, a dropped intermediate: each change in words', async () => {
  const pki = await loadOrCreatePki(await spec(), mkdtempSync(join(dir, 'cache-')), null, new Date())
  const sha = (name: string) => parseCertificate(pki.certs.get(name)!.der).info.sha256
  const facts = new Map<string, ChainCertFacts>()
  for (const [name, c] of pki.certs) {
    const p = parseCertificate(c.der)
    facts.set(p.info.sha256, {
      subject: p.info.subject,
      name: displayName(p.info.subject, 80),
      key: 'ECDSA P-256',
      spki: p.spkiHash,
      selfSigned: p.info.selfSigned,
    })
    assert.ok(name)
  }
  const of = (s: string) => facts.get(s) ?? null
  const own = { served: [sha('leaf'), sha('int')], anchors: [sha('root')] }

  // Rotation 1: same leaf key re-certified under an intermediate of another name, which replaces the old one.
  const b = describeChainChange(own, { served: [sha('leaf-b'), sha('int-b')], anchors: [sha('root')] }, of)
  assert.deepEqual(
    b.changes.map((i) => i.text),
    [
      'leaf CN=reissue.test re-certified: same key (ECDSA P-256), new certificate',
      'new intermediate CN=Reissue Issuing CA B, O=tlsmatrix lab (ECDSA P-256) in place of CN=Reissue Issuing CA, O=tlsmatrix lab (ECDSA P-256)',
    ],
  )
  assert.equal(b.summary, b.changes.map((i) => i.text).join('; '))

  // Rotation 2: under another root; the intermediate keeps its name, with a new key.
  const r = describeChainChange(own, { served: [sha('leaf-2'), sha('int-2')], anchors: [sha('root-2')] }, of)
  assert.deepEqual(
    r.changes.map((i) => i.text),
    [
      'leaf CN=reissue.test re-certified: same key (ECDSA P-256), new certificate',
      'intermediate CN=Reissue Issuing CA, O=tlsmatrix lab re-issued with a new key (ECDSA P-256)',
      'new root CN=Reissue Root 2, O=tlsmatrix lab (ECDSA P-256) in place of CN=Reissue Root, O=tlsmatrix lab (ECDSA P-256)',
    ],
  )

  // The server stops sending its intermediate (fetched through AIA since): dropped, nothing new.
  const d = describeChainChange(own, { served: [sha('leaf')], anchors: [sha('root')] }, of)
  assert.equal(d.summary, 'intermediate CN=Reissue Issuing CA, O=tlsmatrix lab (ECDSA P-256) no longer served')

  // The root sent along too: the same certificates, one more on the wire.
  const sent = describeChainChange(own, { served: [sha('leaf'), sha('int'), sha('root')], anchors: [sha('root')] }, of)
  assert.equal(sent.summary, 'root CN=Reissue Root, O=tlsmatrix lab now sent by the server too')
})
