import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/run.js'
import type { RunningLab } from '../../src/lab/index.js'
import { testIo } from '../helpers/io.js'
import { startTestLab } from '../helpers/lab.js'

// Two CAs whose subjects share a 60-character prefix (badssl's `C=…, ST=…, L=…, O=…`): cut in
// stored order they read the same, so every place that names a certificate leads with its CN.
const SPEC = fileURLToPath(new URL('../fixtures/lab/long-names.json', import.meta.url))
let lab: RunningLab
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-names-'))
  lab = await startTestLab(SPEC, { outDir: dir })
})
after(async () => lab.close())

test('progress lines and resolve output tell a root and an intermediate with a long common prefix apart', async () => {
  const h = lab.hosts[0]!
  const hosts = join(dir, 'hosts.txt')
  writeFileSync(hosts, `${h.name}:${h.port}\n`)
  const common = [
    '--hosts',
    hosts,
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
  ]
  // An SKI/AKI module is given both the root and the intermediate: two uploads, two names.
  const io = testIo({ inProcess: true })
  const code = await run(['run', ...common, '--device', 'emu:spwf04sa-1.1.0?no-dns', '--db', join(dir, 'run.db')], io)
  assert.equal(code, 0, io.err())
  const named = io
    .err()
    .split('\n')
    .filter((l) => l.includes(h.name) && /: pass/.test(l))
  assert.ok(
    named.some((l) => l.includes('CN=BadSSL Long Name Root')),
    io.err(),
  )
  assert.ok(
    named.some((l) => l.includes('CN=BadSSL Long Name Intermediate')),
    io.err(),
  )

  const r = testIo({ inProcess: true })
  assert.equal(await run(['resolve', ...common, '--db', join(dir, 'resolve.db')], r), 0, r.err())
  assert.match(r.out(), /CN=BadSSL Long Name Root/)
  assert.match(r.out(), /CN=BadSSL Long Name Intermediate/)
})
