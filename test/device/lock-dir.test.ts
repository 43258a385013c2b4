import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { run } from '../../src/cli/run.js'
import { isDeviceError } from '../../src/device/index.js'
import { LOCK_DIR_ENV, lockDevice, lockDir } from '../../src/device/lock.js'
import { testIo } from '../helpers/io.js'

const base = () => mkdtempSync(join(tmpdir(), 'tlsmatrix-lock-dir-'))
const isRoot = process.getuid?.() === 0
const unsafe = (what: RegExp) => (err: unknown) =>
  isDeviceError(err, 'LOCK_DIR_UNSAFE') &&
  what.test((err as Error).message) &&
  /Remove it \(it is made again, private\) or set TLSMATRIX_LOCK_DIR to a directory only you can write/.test(
    (err as Error).message,
  )

test('the lock directory is per user: TLSMATRIX_LOCK_DIR, else $XDG_RUNTIME_DIR/tlsmatrix-locks, else tlsmatrix-locks-<uid> in tmp', () => {
  assert.equal(lockDir({ [LOCK_DIR_ENV]: '/x/locks', XDG_RUNTIME_DIR: '/run/user/7' }), '/x/locks')
  assert.equal(lockDir({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/tlsmatrix-locks')
  assert.equal(lockDir({}), join(tmpdir(), `tlsmatrix-locks-${process.getuid!()}`))
})

test('a missing lock directory is made private (0700) and used', async () => {
  const dir = join(base(), 'a', 'locks')
  const release = await lockDevice('tcp://127.0.0.1:4101', 'run-a', dir)
  assert.equal(statSync(dir).mode & 0o777, 0o700)
  const [file] = readdirSync(dir)
  assert.equal(statSync(join(dir, file!)).mode & 0o777, 0o600)
  release()
})

test('a lock directory others can write (mode 0777, as one made first by another user) is refused, and nothing is put in it', async () => {
  const dir = join(base(), 'locks')
  mkdirSync(dir)
  chmodSync(dir, 0o777)
  await assert.rejects(
    lockDevice('tcp://127.0.0.1:4102', 'run-a', dir),
    unsafe(/the device lock directory .*locks cannot be trusted: its mode is 0777: others can read or write it/),
  )
  chmodSync(dir, 0o755)
  await assert.rejects(lockDevice('tcp://127.0.0.1:4102', 'run-a', dir), unsafe(/its mode is 0755/))
  assert.deepEqual(readdirSync(dir), [])
})

test(
  'a lock directory owned by another user is refused, even private',
  { skip: !isRoot && 'needs root to chown' },
  async () => {
    const dir = join(base(), 'locks')
    mkdirSync(dir, { mode: 0o700 })
    chownSync(dir, 12345, 12345)
    // A lock planted there by that user, naming a live process: it must not be trusted at all.
    writeFileSync(
      join(dir, 'planted.lock'),
      JSON.stringify({ pid: 1, host: 'x', runId: 'forever', startedAt: '', url: '', token: '' }),
    )
    await assert.rejects(
      lockDevice('tcp://127.0.0.1:4103', 'run-a', dir),
      unsafe(/it belongs to uid 12345, not to you \(uid 0\)/),
    )
  },
)

test('a lock directory that is a symbolic link is refused', async () => {
  const b = base()
  const real = join(b, 'elsewhere')
  mkdirSync(real, { mode: 0o700 })
  symlinkSync(real, join(b, 'locks'))
  await assert.rejects(lockDevice('tcp://127.0.0.1:4104', 'run-a', join(b, 'locks')), unsafe(/it is a symbolic link/))
  assert.deepEqual(readdirSync(real), [])
})

test('a refusal names the holder plainly: run, pid, user, command, since when', async () => {
  const dir = join(base(), 'locks')
  const release = await lockDevice('tcp://127.0.0.1:4105', 'nightly-7', dir)
  try {
    const held = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')) as { startedAt: string }
    await assert.rejects(lockDevice('tcp://localhost:4105', 'run-b', dir), (err: unknown) => {
      const m = (err as Error).message
      assert.ok(isDeviceError(err, 'DEVICE_BUSY'), m)
      assert.ok(
        m.startsWith(
          `tcp://localhost:4105 is in use by run nightly-7 (pid ${process.pid}, user ${userInfo().username}, since ${held.startedAt}, command: `,
        ),
        m,
      )
      assert.match(m, /, as tcp:\/\/127\.0\.0\.1:4105\); wait for it or stop it$/)
      return true
    })
  } finally {
    release()
  }
})

test('run with an unsafe lock directory stops before anything is opened or recorded (LOCK_DIR_UNSAFE, exit 2)', async () => {
  const b = base()
  const dir = join(b, 'locks')
  mkdirSync(dir)
  chmodSync(dir, 0o777)
  const hosts = join(b, 'hosts.txt')
  writeFileSync(hosts, 'a.test:443\n')
  const before = process.env[LOCK_DIR_ENV]
  process.env[LOCK_DIR_ENV] = dir
  try {
    const io = testIo({ cwd: b })
    const code = await run(['run', '--hosts', hosts, '--db', join(b, 'h.db'), '--device', 'tcp://127.0.0.1:9'], io)
    assert.equal(code, 2, io.err())
    assert.match(
      io.err(),
      /^tlsmatrix: LOCK_DIR_UNSAFE: the device lock directory .* cannot be trusted: its mode is 0777/,
    )
    assert.equal(existsSync(join(b, 'h.db')), false)
  } finally {
    if (before === undefined) delete process.env[LOCK_DIR_ENV]
    else process.env[LOCK_DIR_ENV] = before
  }
})
