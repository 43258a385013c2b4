import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { PACKAGE_ROOT } from '../../src/core/paths.js'
import { closedPort, startTestLab } from '../helpers/lab.js'

/**
 * Runs the CLI in its own process with a CommonJS hook that lists every package it loads, so the
 * test sees what start-up really pays for (node-pty and serialport are CommonJS).
 */
async function loadedBy(args: string[], dir: string): Promise<{ code: number | null; loaded: string[] }> {
  const hook = join(dir, 'hook.cjs')
  const list = join(dir, 'loaded.txt')
  writeFileSync(
    hook,
    `const M = require('node:module'); const fs = require('node:fs'); const seen = new Set();
const load = M.prototype.load; M.prototype.load = function (filename) { seen.add(filename); return load.call(this, filename) };
process.on('exit', () => fs.writeFileSync(${JSON.stringify(list)}, [...seen].join('\\n')))`,
  )
  const child = spawn(
    process.execPath,
    ['--require', hook, '--import', 'tsx', join(PACKAGE_ROOT, 'src/cli/main.ts'), ...args],
    { cwd: PACKAGE_ROOT, stdio: ['ignore', 'ignore', 'ignore'] },
  )
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  return { code, loaded: readFileSync(list, 'utf8').split('\n') }
}

test('resolve loads neither node-pty nor serialport (nor the emulator), nor @peculiar/x509 for ordinary chains', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-startup-'))
  const port = await closedPort()
  const lab = await startTestLab()
  try {
    const host = lab.hosts.find((h) => h.name === 'rsa2048.basic.test')!
    writeFileSync(join(dir, 'hosts.txt'), `127.0.0.1:${port}\n${host.name}:${host.port}\n`)
    const r = await loadedBy(
      [
        'resolve',
        '--hosts',
        join(dir, 'hosts.txt'),
        '--db',
        join(dir, 'x.db'),
        '--timeout-ms',
        '5000',
        '--trust-store',
        lab.trustStoreFile,
        ...lab.resolveEntries.flatMap((e) => ['--resolve', e]),
      ],
      dir,
    )
    assert.equal(r.code, 1) // the closed port is a finding; the lab host resolves
    const db = new Database(join(dir, 'x.db'), { readonly: true })
    const row = db.prepare('SELECT error_code e, served s FROM observations WHERE host = ?').get(host.name) as {
      e: string | null
      s: string
    }
    db.close()
    assert.equal(row.e, null)
    assert.equal((JSON.parse(row.s) as string[]).length, 2)
    assert.ok(
      r.loaded.some((m) => m.includes('better-sqlite3')),
      'the hook sees CommonJS packages',
    )
    assert.deepEqual(
      r.loaded.filter((m) => /node-pty|serialport|@peculiar[/\\]x509/.test(m)),
      [],
    )
  } finally {
    await lab.close()
  }
})

test('the emulator still gets node-pty when it needs it: emulate --help loads no device code, emulate loads it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-startup-'))
  const help = await loadedBy(['emulate', '--help'], dir)
  assert.equal(help.code, 0)
  assert.deepEqual(
    help.loaded.filter((m) => /node-pty|serialport/.test(m)),
    [],
  )
  const bad = await loadedBy(['emulate', '--firmware', 'no-such-profile', '--pty'], dir)
  assert.equal(bad.code, 2)
  assert.ok(bad.loaded.some((m) => /node-pty/.test(m)))
})
