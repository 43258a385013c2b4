import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLab, type RunningLab } from '../../src/lab/index.js'
import { meshSpec, serveLabChain } from '../helpers/mesh.js'
import { exitOf, spawnCli } from '../helpers/spawn-cli.js'

// Issue 20 §2, end to end: `tlsmatrix resolve` on certificate meshes. The path search used to
// run for minutes without returning to the event loop, so Ctrl-C was never even seen.

let lab: RunningLab
let dir: string
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-mesh-cli-'))
  lab = await startLab(meshSpec(14, { leaves: 3, name: 'mesh-cli' }), {
    cacheDir: dir,
    now: new Date(),
    ephemeralPorts: true,
  })
})
after(async () => {
  await lab?.close()
})

test('resolve: Ctrl-C while a mesh is being searched stops the command (exit 3) with what was recorded', async () => {
  // The first target is served by the test's own server, which sees the resolver take the chain
  // and close the connection: from then on the command is searching the mesh.
  const first = await serveLabChain(lab, 'mesh-1.test')
  try {
    const port = (name: string) => lab.hosts.find((h) => h.name === name)!.port
    const hosts = join(dir, 'hosts.txt')
    writeFileSync(
      hosts,
      [
        `mesh-1.test:${first.port}`,
        `mesh-2.test:${port('mesh-2.test')}`,
        `mesh-3.test:${port('mesh-3.test')}`,
        `next.test:${port('next.test')}`,
      ].join('\n') + '\n',
    )
    const c = spawnCli([
      'resolve',
      '--hosts',
      hosts,
      '--db',
      join(dir, 'resolve.db'),
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--no-aia',
      '--concurrency',
      '1',
      '--timeout-ms',
      '600000',
      ...[...lab.resolveEntries, `mesh-1.test:${first.port}:127.0.0.1`].flatMap((e) => ['--resolve', e]),
    ])
    await first.closed
    c.child.kill('SIGINT')
    assert.equal(await exitOf(c), 3, c.stderr())
    assert.match(c.stderr(), /stopping: no new targets/)
    const m = /interrupted: (\d) of 4 targets recorded in /.exec(c.stderr())
    assert.ok(m && Number(m[1]) < 4, c.stderr())
    assert.doesNotMatch(c.stderr(), /\n\s+at /, 'no stack trace')
    assert.equal(first.connections(), 1)
  } finally {
    first.server.close()
  }
})

test('resolve: a mesh is recorded as path-search-limit and the batch goes on to the next target', async () => {
  const hosts = join(dir, 'hosts-2.txt')
  const port = (name: string) => lab.hosts.find((h) => h.name === name)!.port
  writeFileSync(hosts, `mesh-2.test:${port('mesh-2.test')}\nnext.test:${port('next.test')}\n`)
  const c = spawnCli([
    'resolve',
    '--hosts',
    hosts,
    '--db',
    join(dir, 'resolve-2.db'),
    '--trust-store',
    lab.trustStoreFile,
    '--trust-store-only',
    '--no-aia',
    '--concurrency',
    '1',
    '--json',
    ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
  ])
  // Exit 1: findings (the mesh), everything recorded.
  assert.equal(await exitOf(c), 1, c.stderr())
  const out = JSON.parse(c.stdout()) as Array<{ target: string; error: { code: string } | null; anchors: unknown[] }>
  assert.deepEqual(
    out.map((o) => [o.target, o.error?.code ?? null, o.anchors.length]),
    [
      [`mesh-2.test:${port('mesh-2.test')}`, 'path-search-limit', 0],
      [`next.test:${port('next.test')}`, null, 1],
    ],
  )
})
