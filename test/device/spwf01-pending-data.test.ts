import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AtChannel } from '../../src/device/at/channel.js'
import { SPWF01_FRAMING } from '../../src/families/spwf01/framing.js'
import { Spwf01Driver } from '../../src/families/spwf01/driver.js'
import { loadProfile } from '../../src/families/index.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'

const BODY = 'x'.repeat(161 - 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'.length)

test('SPWF01 read: DATALEN 0 followed in the same chunk by Pending Data and Socket Closed is read again, not ended', async () => {
  const profile = await loadProfile('spwf01sa-3.5.3')
  const response = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n${BODY}`, 'latin1')
  assert.equal(response.length, 161)
  let pending = Buffer.alloc(0)
  let queries = 0
  const t = scriptedTransport((w) => {
    const cmd = w.split('\r', 1)[0]!
    if (cmd.startsWith('AT+S.TLSDOMAIN=')) return Buffer.from('\r\nOK\r\n')
    if (cmd.startsWith('AT+S.SOCKON=')) return Buffer.from('\r\n ID: 00\r\n\r\nOK\r\n')
    if (cmd.startsWith('AT+S.SOCKW=')) return Buffer.from('\r\nOK\r\n')
    if (cmd.startsWith('AT+S.SOCKQ=')) {
      queries++
      // The race the module has: the server's bytes and its close arrive right after it said 0.
      if (queries === 1) {
        pending = response
        return Buffer.from(
          '\r\n DATALEN: 0\r\n\r\nOK\r\n+WIND:55:Pending Data:00:161:161\r\n+WIND:58:Socket Closed:00:0\r\n',
          'latin1',
        )
      }
      return Buffer.from(`\r\n DATALEN: ${pending.length}\r\n\r\nOK\r\n`)
    }
    if (cmd.startsWith('AT+S.SOCKR=')) {
      const n = Number(cmd.split(',')[1])
      const data = pending.subarray(0, n)
      pending = pending.subarray(n)
      return Buffer.concat([data, Buffer.from('\r\nOK\r\n')])
    }
    if (cmd.startsWith('AT+S.SOCKC=')) return Buffer.from('\r\nOK\r\n')
    return Buffer.from('\r\nERROR: Command not found\r\n')
  })
  const channel = new AtChannel(t, SPWF01_FRAMING)
  const driver = new Spwf01Driver(
    channel,
    { module: 'SPWF01SA', firmware: '3.5.3', build: null, dialect: 'spwf01' },
    profile,
    () => performance.now(),
    { commandMs: 2000, httpMs: 5000, resetMs: 2000 },
  )
  const a = await driver.httpsGet({ host: 'a.test', path: '/', port: 443 })
  assert.equal(a.outcome, 'pass', `${a.deviceError}`)
  assert.equal(a.httpStatus, 200)
  assert.equal(a.bodyBytes, BODY.length)
  assert.ok(queries >= 2, 'queried again after the indications')
})
