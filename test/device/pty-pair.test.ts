import { test } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, readFileSync, writeSync } from 'node:fs'
import tty from 'node:tty'
import { SerialPort } from 'serialport'
import { nodePtyVersion, openPtyPair } from '../../src/emulator/pty-pair.js'

/**
 * The emulator's pseudo-terminal comes from node-pty's non-public `native` binding (see
 * src/emulator/pty-pair.ts). If an upgrade changes it, this fails here, not in a survey.
 */
test('node-pty is the pinned version whose private pty binding pty-pair.ts was written for', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>
  }
  assert.match(pkg.dependencies['node-pty'] ?? '', /^\d+\.\d+\.\d+$/, 'node-pty must stay pinned to an exact version')
  assert.equal(
    nodePtyVersion(),
    pkg.dependencies['node-pty'],
    'installed node-pty differs from the pin: re-check src/emulator/pty-pair.ts',
  )
})

test('openPtyPair gives a raw pseudo-terminal: bytes cross both ways unchanged', async () => {
  const pair = openPtyPair()
  assert.match(pair.path, /^\/dev\//)
  const slave = new tty.ReadStream(pair.slave)
  slave.setRawMode(true)
  const master = new tty.ReadStream(pair.master)
  try {
    const bytes = Buffer.from('AT+S.STS\r\n\x00\xff\x80 end\r', 'latin1')
    const got = (s: tty.ReadStream) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = []
        const on = (d: Buffer) => {
          chunks.push(d)
          if (Buffer.concat(chunks).length >= bytes.length) {
            s.off('data', on)
            resolve(Buffer.concat(chunks))
          }
        }
        s.on('data', on)
      })
    const atSlave = got(slave)
    writeSync(pair.master, bytes)
    assert.deepEqual(await atSlave, bytes, 'master to slave, no CR/LF translation')
    // The other way as the runner does it: serialport opens the slave by path and sets its own modes.
    const port = new SerialPort({ path: pair.path, baudRate: 115200, autoOpen: false })
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
    try {
      const atMaster = got(master)
      port.write(bytes)
      assert.deepEqual(await atMaster, bytes, 'slave to master, no echo, no translation')
    } finally {
      await new Promise<void>((resolve) => port.close(() => resolve()))
    }
  } finally {
    master.destroy()
    slave.destroy()
    try {
      closeSync(pair.master)
    } catch {
      /* closed by the stream */
    }
  }
})
