import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { openModule } from '../../src/families/index.js'

/**
 * open's first AT ends in CR LF, so that ESP-AT (which reads up to the LF) answers it. A module
 * that ends lines at CR may keep that LF as the first byte of its next line and refuse it; the
 * open must set that answer aside, not read the next command's answer from it.
 */
test("a CR-only module that takes the first AT's LF as the start of its next line is still identified", async (t) => {
  const seen: string[] = []
  const server = createServer((sock) => {
    let buf = ''
    sock.on('data', (d) => {
      buf += d.toString('latin1')
      let cr: number
      while ((cr = buf.indexOf('\r')) >= 0) {
        const line = buf.slice(0, cr)
        buf = buf.slice(cr + 1)
        seen.push(line)
        if (line.startsWith('\n')) sock.write('AT-S.ERROR:7:Invalid argument(s)\r\n')
        else if (line === 'AT') sock.write('AT-S.OK\r\n')
        else if (line === 'AT+S.STS=fw_version') sock.write('AT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n')
        else if (line === 'AT+S.STS=build') sock.write('AT-S.Var:build=170606-tlsmatrix\r\nAT-S.OK\r\n')
        else sock.write('AT-S.ERROR:7:Invalid argument(s)\r\n')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise((r) => server.close(r)))
  const m = await openModule(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`)
  try {
    assert.equal(seen[0], 'AT', 'the first AT')
    assert.ok(
      seen.some((l) => l.startsWith('\n')),
      'the LF did reach the module and was refused',
    )
    assert.deepEqual([m.identity.module, m.identity.firmware, m.profileWarning], ['SPWF04SA', '1.1.0', null])
  } finally {
    await m.transport.close()
  }
})
