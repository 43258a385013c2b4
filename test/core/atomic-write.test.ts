import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAtomicStream, createFileOnceSync, writeFileAtomicSync } from '../../src/core/atomic-write.js'

const HELPER = fileURLToPath(new URL('../../src/core/atomic-write.ts', import.meta.url))
const fresh = () => mkdtempSync(join(tmpdir(), 'tlsmatrix-atomic-'))

/** Names the helper tries, in order, instead of random ones. */
const names = (...list: string[]) => {
  const left = [...list]
  return () => left.shift() ?? 'spare'
}

test('a link planted at the temporary name is never followed: another name is taken, its target untouched', () => {
  const dir = fresh()
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'keep')
  const file = join(dir, 'profile.json')
  symlinkSync(victim, join(dir, 'profile.json.planted.part'))
  writeFileAtomicSync(file, '{"new": true}', { random: names('planted', 'mine') })
  assert.equal(readFileSync(victim, 'utf8'), 'keep')
  assert.equal(readFileSync(file, 'utf8'), '{"new": true}')
  assert.deepEqual(readdirSync(dir).sort(), ['profile.json', 'profile.json.planted.part', 'victim'])
})

test('a link at the final name is replaced, not written through', () => {
  const dir = fresh()
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'keep')
  const file = join(dir, 'junit.xml')
  symlinkSync(victim, file)
  writeFileAtomicSync(file, '<x/>')
  assert.equal(readFileSync(victim, 'utf8'), 'keep')
  assert.ok(lstatSync(file).isFile())
  assert.equal(readFileSync(file, 'utf8'), '<x/>')
})

test('the temporary file is private (0600) while written, and gets its final mode when renamed', async () => {
  const dir = fresh()
  const file = join(dir, 'report.json')
  const a = createAtomicStream(file, { mode: 0o644, random: names('t') })
  a.stream.write('{}')
  assert.equal(statSync(join(dir, 'report.json.t.part')).mode & 0o777, 0o600)
  await a.commit()
  assert.equal(statSync(file).mode & 0o777, 0o644)
  assert.deepEqual(readdirSync(dir), ['report.json'])
  writeFileAtomicSync(join(dir, 'key.json'), 'secret', { mode: 0o600 })
  assert.equal(statSync(join(dir, 'key.json')).mode & 0o777, 0o600)
  // By default, the mode a plain write would give (0666 less the umask).
  writeFileAtomicSync(join(dir, 'plain.txt'), 'x')
  assert.equal(statSync(join(dir, 'plain.txt')).mode & 0o777, 0o666 & ~process.umask())
})

test('on any failure no temporary file stays: an abort at once, a rename that fails, a process that exits half-way', async () => {
  const dir = fresh()
  // Aborted before a byte was written (a renderer that throws at once).
  await createAtomicStream(join(dir, 'junit.xml')).abort()
  assert.deepEqual(readdirSync(dir), [])
  // The final name is a directory with something in it: the rename fails, the error is the caller's.
  mkdirSync(join(dir, 'index.html'))
  writeFileSync(join(dir, 'index.html', 'x'), '')
  const a = createAtomicStream(join(dir, 'index.html'))
  a.stream.write('<html>')
  await assert.rejects(a.commit())
  assert.throws(() => writeFileAtomicSync(join(dir, 'index.html'), 'x'))
  assert.deepEqual(readdirSync(dir), ['index.html'])
  // A process that exits (Ctrl-C, an uncaught error) while writing.
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--input-type=module',
      '-e',
      `import { createAtomicStream } from ${JSON.stringify(HELPER)}
       const a = createAtomicStream(${JSON.stringify(join(dir, 'matrix.md'))})
       a.stream.write('# half')
       process.exit(3)`,
    ],
    { encoding: 'utf8' },
  )
  assert.equal(r.status, 3, r.stderr)
  assert.deepEqual(readdirSync(dir), ['index.html'])
})

test('createFileOnceSync: a name taken by a file or a link is left alone (false); a free one gets the whole content', () => {
  const dir = fresh()
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'keep')
  symlinkSync(victim, join(dir, 'a.lock'))
  assert.equal(createFileOnceSync(join(dir, 'a.lock'), 'mine'), false)
  assert.equal(readFileSync(victim, 'utf8'), 'keep')
  assert.equal(createFileOnceSync(join(dir, 'b.lock'), 'mine', { mode: 0o600 }), true)
  assert.equal(readFileSync(join(dir, 'b.lock'), 'utf8'), 'mine')
  assert.equal(statSync(join(dir, 'b.lock')).mode & 0o777, 0o600)
  assert.equal(createFileOnceSync(join(dir, 'b.lock'), 'other'), false)
  assert.equal(readFileSync(join(dir, 'b.lock'), 'utf8'), 'mine')
  assert.deepEqual(readdirSync(dir).sort(), ['a.lock', 'b.lock', 'victim'])
  assert.equal(existsSync(join(dir, 'spare')), false)
})
