import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { AtChannel } from '../../src/device/at/channel.js'
import { SPWF04_FRAMING } from '../../src/families/spwf04/framing.js'
import { atField } from '../../src/device/at/fields.js'
import { isDeviceError } from '../../src/device/index.js'
import { classifyLines } from '../../src/profile/index.js'
import { loadProfile } from '../../src/families/index.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'

// The forum post of ../shared/reference (copied to test/fixtures/at): per site, the module's
// lines after its HTTPGET, and the class a person reading the report would give them.
const report = readFileSync(new URL('../fixtures/at/field-report-spwf04sa-ssl.txt', import.meta.url), 'utf8')

function transcriptsByHost(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const lines = text.split(/\r?\n/)
  let host: string | null = null
  for (const line of lines) {
    const get = /^AT\+S\.HTTPGET=([^,]+),/.exec(line)
    if (get) host = get[1]!
    else if (host && line.startsWith('AT-S.')) out.set(host, [...(out.get(host) ?? []), line])
    else if (host && line.trim() !== '' && out.has(host)) host = null
  }
  return out
}

test("the field report's transcripts, fed to the parser, give the classes they should", async () => {
  const profile = await loadProfile('spwf04sa-1.0.0')
  const byHost = transcriptsByHost(report)
  const expected: Record<string, string> = {
    'ghi-test-iot.azure-devices.net': 'key-unsupported',
    'www.ebay.com': 'handshake',
    'www.ssllabs.com': 'handshake',
  }
  assert.deepEqual([...byHost.keys()].sort(), Object.keys(expected).sort(), 'three failing sites in the report')
  for (const [host, lines] of byHost) {
    // Through the real parser: the lines as the module sends them, CR LF and all.
    const t = scriptedTransport(() => Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'))
    const r = await new AtChannel(t, SPWF04_FRAMING).exec(`AT+S.HTTPGET=${host},/,443,2,,,,`, { timeoutMs: 1000 })
    assert.equal(r.ok, false, host)
    assert.equal(classifyLines([...r.lines, r.final], profile), expected[host], host)
  }
})

test('reference transcripts: CA not found, refused connection, HTTP error', async () => {
  const profile = await loadProfile('spwf04sa-1.1.0')
  assert.equal(
    classifyLines(
      ['AT-S.Skip CA', 'AT-S.Certificate Error:23', 'AT-S.Http Client Error:2', 'AT-S.ERROR:111:Request failed'],
      profile,
    ),
    'untrusted',
  )
  assert.equal(classifyLines(['AT-S.Http Client Error:1', 'AT-S.ERROR:111:Request failed'], profile), 'connect')
  assert.equal(
    classifyLines(
      ['AT-S.Http Server Status Code:400', 'AT-S.Http Server Error:400', 'AT-S.ERROR:111:Request failed'],
      profile,
    ),
    'http',
  )
  assert.equal(classifyLines(['AT-S.ERROR:7:Invalid argument(s)'], profile), null)
})

test('AT fields: CR, LF, NUL, commas, non-ASCII and over-long values are refused', () => {
  for (const bad of ['a\rb', 'a\nb', 'a\0b', 'a,b', 'ä', 'x'.repeat(300)]) {
    assert.throws(
      () => atField('host', bad, { max: 253 }),
      (e) => isDeviceError(e, 'AT_INVALID_FIELD'),
      JSON.stringify(bad),
    )
  }
  assert.equal(atField('host', 'www.example.com', { max: 253 }), 'www.example.com')
})
