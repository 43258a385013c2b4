import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { type OpenedModule } from '../../src/device/index.js'
import { openModule } from '../../src/families/index.js'
import type { RunningLab } from '../../src/lab/index.js'
import { startTestLab } from '../helpers/lab.js'

const fixtures = fileURLToPath(new URL('../fixtures/esp-at/', import.meta.url))

/**
 * `tlsmatrix emulate` as a process on a pty, picked by the profile's dialect through the family registry.
 * End to end, with a process: a user profile file handed to the emulator process, its ESP-AT bytes
 * (commands ending at LF) through a real pseudo-terminal and serialport.
 */
describe('ESP-AT over the emulator process', () => {
  let lab: RunningLab
  let m: OpenedModule
  before(async () => {
    lab = await startTestLab()
    m = await openModule(`emu:${fixtures}esp-at-3.3-esp32c3.json?no-dns`, {
      resolve: lab.resolveEntries,
      profileDirs: [fixtures],
    })
  })
  after(async () => {
    await m?.transport.close()
    await lab?.close()
  })
  const port = (h: string) => lab.hosts.find((x) => x.name === h)!.port

  test('open recognises the family on the wire (AT then AT+GMR) and picks the profile by module and firmware', () => {
    assert.deepEqual(
      [m.identity.module, m.identity.firmware, m.identity.build, m.identity.dialect],
      ['ESP32-C3', '3.3.0', '3.3.0.0', 'esp-at'],
    )
    assert.equal(m.profile.id, 'test-esp-at-3.3-esp32c3')
    assert.equal(m.profileWarning, null)
  })

  test('prepare, clean, upload by SYSMFG, then a pass with its status line and a bare ERROR classified unspecified', async () => {
    await m.driver.prepare(new Date())
    await m.driver.clean()
    const up = await m.driver.uploadCa(lab.pki.certs.get('root-rsa')!.der)
    assert.match(up.command, /^AT\+SYSMFG=2,"client_ca","client_ca\.0",8,\d+$/)
    const pass = await m.driver.httpsGet({ host: 'rsa2048.basic.test', path: '/', port: port('rsa2048.basic.test') })
    assert.deepEqual(
      [pass.outcome, pass.httpStatus, pass.lines],
      ['pass', 200, ['CONNECT', 'OK', 'HTTP/1.1 200 OK']],
      JSON.stringify(pass.deviceError),
    )
    const fail = await m.driver.httpsGet({ host: 'ecdsa.basic.test', path: '/', port: port('ecdsa.basic.test') })
    assert.deepEqual([fail.outcome, fail.class, fail.lines, fail.fault], ['fail', 'unspecified', ['ERROR'], null])
  })
})
