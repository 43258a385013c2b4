import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeDir } from '../../src/core/make-dir.js'

// A directory that exists but refuses new names with ENOENT: Node's own recursive mkdir spins
// forever there, so the calls run in a child with a generous bound (a hang is the failure).
const refusing = '/proc'
const child = (code: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 120_000,
    killSignal: 'SIGKILL',
  })

test(
  'report --out under /proc: REPORT_WRITE_FAILED, not a spin (makeDir stops)',
  { skip: !existsSync(refusing) && 'no /proc' },
  () => {
    const r = child(`import { makeDir } from ${JSON.stringify(join(process.cwd(), 'src/core/make-dir.ts'))}
try { makeDir('/proc/tlsmatrix-out/deep'); console.log('made') } catch (e) { console.log('code', e.code) }`)
    assert.equal(r.signal, null, 'makeDir did not return (killed after the bound)')
    assert.match(r.stdout, /code (ENOENT|EACCES|EPERM|EROFS)/)
  },
)

test('run --db under /proc: STORE_UNUSABLE, not a spin', { skip: !existsSync(refusing) && 'no /proc' }, () => {
  const r = child(`import { openDb } from ${JSON.stringify(join(process.cwd(), 'src/store/db.ts'))}
try { openDb('/proc/tlsmatrix-db/t.db'); console.log('opened') } catch (e) { console.log('code', e.code) }`)
  assert.equal(r.signal, null, 'openDb did not return (killed after the bound)')
  assert.match(r.stdout, /code STORE_UNUSABLE/)
})

test('makeDir: creates missing levels, accepts an existing directory, refuses a file in the way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-makedir-'))
  makeDir(join(dir, 'a b', 'c'))
  assert.ok(existsSync(join(dir, 'a b', 'c')))
  makeDir(join(dir, 'a b', 'c'))
  writeFileSync(join(dir, 'f'), '')
  assert.throws(() => makeDir(join(dir, 'f')), { code: 'EEXIST' })
  assert.throws(() => makeDir(join(dir, 'f', 'g')), { code: 'ENOTDIR' })
})
