import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AtChannel } from '../../src/device/at/channel.js'
import { SPWF01_FRAMING } from '../../src/families/spwf01/framing.js'
import { SPWF04_FRAMING } from '../../src/families/spwf04/framing.js'
import { classifyResponse, damage, fillLine, type FirmwareProfile } from '../../src/profile/index.js'
import { loadProfile } from '../../src/families/index.js'
import { scriptedTransport } from '../helpers/scripted-transport.js'

/** Bytes a link may turn a byte into: controls, line breaks, and the emulator's 0x80-0xFE range. */
const CORRUPT = [0x00, 0x0a, 0x0d, 0x80, 0xfe]

/** Each failure class's response, as the profile's module prints it (the emulator's way). */
function transcripts(p: FirmwareProfile): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [cls, entry] of Object.entries(p.errors)) {
    if (p.dialect === 'spwf04') {
      const lines = entry.map((t) => fillLine(t, 404))
      if (cls === 'http') lines.unshift('AT-S.Http Server Status Code:404')
      if (cls === 'untrusted') lines.unshift('AT-S.Skip CA')
      if (!lines.some((l) => l.startsWith('AT-S.ERROR'))) lines.push('AT-S.ERROR:111:Request failed')
      out.set(cls, lines)
    } else if (cls !== 'http') {
      out.set(cls, entry) // SOCKON's answer: one ERROR line (HTTP errors come from the socket data)
    }
  }
  return out
}

/** The bytes through the real AT channel; the port closes after them, so a missing final line is seen at once. */
async function judge(p: FirmwareProfile, bytes: Buffer): Promise<string> {
  const t = scriptedTransport(() => bytes)
  const channel = new AtChannel(t, p.dialect === 'spwf04' ? SPWF04_FRAMING : SPWF01_FRAMING)
  const pending = channel.exec('AT+S.X', { timeoutMs: 5000 })
  setImmediate(() => setImmediate(() => t.hangUp()))
  try {
    const r = await pending
    const c = classifyResponse([...r.lines, r.final], p)
    return c.kind === 'class' ? c.class : c.kind
  } catch {
    return 'damaged'
  }
}

const wire = (p: FirmwareProfile, lines: string[]) =>
  Buffer.from((p.dialect === 'spwf01' ? '\r\n' : '') + lines.map((l) => `${l}\r\n`).join(''), 'latin1')

for (const id of ['spwf04sa-1.0.0', 'spwf04sa-1.1.0', 'spwf01sa-3.5.3']) {
  test(`${id}: every corrupted byte of every class's response gives that class or no verdict, never another class`, async () => {
    const p = await loadProfile(id)
    for (const [cls, lines] of transcripts(p)) {
      assert.equal(await judge(p, wire(p, lines)), cls, `${cls}: the intact response`)
      const bytes = wire(p, lines)
      for (let i = 0; i < bytes.length; i++) {
        for (const v of CORRUPT) {
          if (bytes[i] === v) continue
          const bad = Buffer.from(bytes)
          bad[i] = v
          const got = await judge(p, bad)
          assert.ok(
            got === cls || got === 'damaged' || got === 'unmatched',
            `${cls}: byte ${i} -> 0x${v.toString(16)} gave ${got}: ${JSON.stringify(bad.toString('latin1'))}`,
          )
        }
      }
    }
  })

  test(`${id}: a response missing any one line is that class or no verdict, unless it is exactly another class's whole response`, async () => {
    const p = await loadProfile(id)
    const all = transcripts(p)
    const ambiguous: string[] = []
    for (const [cls, lines] of all) {
      for (let i = 0; i < lines.length; i++) {
        const rest = lines.filter((_, j) => j !== i)
        const got = await judge(p, wire(p, rest))
        if (got === cls || got === 'damaged' || got === 'unmatched') continue
        // On the wire, losing exactly one whole line of a longer entry leaves the shorter entry
        // verbatim (Certificate Error:22 + Http Client Error:2 without its first line): no grammar
        // can tell them apart. Only that case is allowed, and it is listed.
        assert.deepEqual(
          rest.filter((l) => l !== 'AT-S.Skip CA'),
          all.get(got)!.filter((l) => l !== 'AT-S.Skip CA'),
          `${cls} without line ${i} gave ${got}`,
        )
        assert.match(lines[i]!, /^AT-S\.Certificate Error:\d+$/)
        ambiguous.push(`${cls}-${i}`)
      }
    }
    // The final line is never optional.
    for (const [cls, lines] of all)
      assert.equal(await judge(p, wire(p, lines.slice(0, -1))), 'damaged', `${cls} without its final line`)
    if (p.dialect === 'spwf01') assert.deepEqual(ambiguous, [])
  })
}

test('a corrupted Certificate Error:22 line no longer lets the shorter handshake entry win', async () => {
  const p = await loadProfile('spwf04sa-1.0.0')
  const c = classifyResponse(
    ['AT-S.Certificate Err\u00c3r:22', 'AT-S.Http Client Error:2', 'AT-S.ERROR:111:Request failed'],
    p,
  )
  assert.equal(c.kind, 'damaged')
  assert.equal(damage(['AT-S.Http Client Error:2'], p)?.startsWith('no final line'), true)
  assert.deepEqual(
    classifyResponse(
      [
        'AT-S.Skip CA',
        'AT-S.Loading:1:2',
        'AT-S.Certificate Error:24',
        'AT-S.Http Client Error:2',
        'AT-S.ERROR:111:Request failed',
      ],
      p,
    ),
    { kind: 'class', class: 'expired' },
  )
})
