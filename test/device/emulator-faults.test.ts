import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CertCache } from '../../src/chain/index.js'
import { parseFaults } from '../../src/emulator/faults.js'
import { EmulatedModule } from '../../src/emulator/module.js'
import { spwf04 } from '../../src/families/spwf04/emulator.js'
import { type FirmwareProfile } from '../../src/profile/index.js'
import { loadProfile } from '../../src/families/index.js'

/** An emulated module driven in-process: what it writes for each line sent. */
async function moduleUnderTest(faults: string, seed: number, profile?: FirmwareProfile) {
  const p = profile ?? (await loadProfile('spwf04sa-1.0.0'))
  let out: Buffer[] = []
  const errors: string[] = []
  const clock = { now: () => new Date(0), monotonic: () => 0 }
  const m = new EmulatedModule({
    profile: p,
    dialect: spwf04,
    clock,
    rtcAtBoot: new Date(0),
    wifi: true,
    net: { resolveMap: new Map(), dnsOff: true, clock, timeoutMs: 1000, cache: new CertCache() },
    faults: parseFaults(faults),
    seed,
    output: (b) => out.push(b),
    log: () => {},
    error: (e) => errors.push(e),
  })
  m.boot()
  out = []
  const send = async (line: string | Buffer): Promise<string> => {
    m.receive(typeof line === 'string' ? Buffer.from(`${line}\r`, 'latin1') : line)
    await m.idle()
    const s = Buffer.concat(out).toString('latin1')
    out = []
    return s
  }
  return Object.assign(send, { errors })
}

const COMMANDS = Array.from({ length: 40 }, (_, i) => (i % 2 ? 'AT+S.GCFG=console_errs' : 'AT+S.STS=fw_version'))

test('faults follow the commands, not the polls: extra AT polls do not shift the schedule', async () => {
  const spec = 'drop=0.15,corrupt=0.15,wind=0.3'
  const clean = await moduleUnderTest('', 5)
  const plain = await moduleUnderTest(spec, 5)
  const polled = await moduleUnderTest(spec, 5)
  const expected: string[] = []
  const withoutPolls: string[] = []
  const withPolls: string[] = []
  for (const [i, cmd] of COMMANDS.entries()) {
    expected.push(await clean(cmd))
    withoutPolls.push(await plain(cmd))
    // A busy host polls more or less often; the module's answers to the real commands must not care.
    for (let k = 0; k < i % 3; k++) assert.equal(await polled('AT'), 'AT\r\nAT-S.OK\r\n', 'a poll is never faulted')
    withPolls.push(await polled(cmd))
  }
  assert.deepEqual(withPolls, withoutPolls)
  assert.ok(
    withoutPolls.some((o, i) => o !== expected[i]),
    'the seed did inject faults',
  )
  assert.ok(
    withoutPolls.some((o, i) => o === expected[i]),
    'and left some commands alone',
  )
})

test('the same seed gives the same faults; another seed other faults', async () => {
  const run = async (seed: number) => {
    const send = await moduleUnderTest('drop=0.2,corrupt=0.2', seed)
    const outs: string[] = []
    for (const cmd of COMMANDS) outs.push(await send(cmd))
    return outs
  }
  assert.deepEqual(await run(9), await run(9))
  assert.notDeepEqual(await run(9), await run(10))
})

test('bare AT is never faulted, even at rate 1; identification is spared, the rest is not', async () => {
  const send = await moduleUnderTest('drop=1', 1)
  for (let i = 0; i < 5; i++) assert.equal(await send('AT'), 'AT\r\nAT-S.OK\r\n')
  assert.match(await send('AT+S.STS=fw_version'), /AT-S\.OK/)
  assert.match(await send('AT+S.STS=build'), /AT-S\.OK/)
  assert.equal(
    await send('AT+S.GCFG=console_errs'),
    'AT+S.GCFG=console_errs\r\n',
    'only the echo: the answer was dropped',
  )
})

test('fixed faults count the commands without the polls', async () => {
  const send = await moduleUnderTest('drop@2', 1)
  await send('AT')
  await send('AT+S.STS=fw_version')
  await send('AT')
  await send('AT+S.STS=build')
  await send('AT')
  assert.equal(
    await send('AT+S.GCFG=console_errs'),
    'AT+S.GCFG=console_errs\r\n',
    'command 2 is the third non-poll command',
  )
  assert.match(await send('AT+S.GCFG=console_errs'), /AT-S\.OK/)
})

test("the SPWF04 TLS slot is the profile's store.maxCaBytes", async () => {
  const small = structuredClone(await loadProfile('spwf04sa-1.0.0'))
  small.store.maxCaBytes = 1000
  const send = await moduleUnderTest('', 1, small)
  assert.match(await send('AT+S.TLSCERT=ca,1001'), /AT-S\.ERROR:32:Argument exceeds allowed size/)
  await send('AT+S.TLSCERT=ca,1000')
  const answer = await send(Buffer.alloc(1000, 0x41))
  assert.doesNotMatch(answer, /ERROR:32/, 'a CA of exactly the slot size is taken in (and judged on its content)')
  const stock = await moduleUnderTest('', 1)
  await stock('AT+S.TLSCERT=ca,1001')
  assert.doesNotMatch(await stock(Buffer.alloc(1001, 0x41)), /ERROR:32/, 'the stock profile has a larger slot')
})

test('an internal failure of the emulator answers nothing and is reported on its error channel, not the wire', async () => {
  const send = await moduleUnderTest('internal@2', 1)
  await send('AT+S.STS=fw_version')
  await send('AT+S.STS=build')
  assert.equal(await send('AT+S.GCFG=console_errs'), 'AT+S.GCFG=console_errs\r\n', 'only the echo')
  assert.deepEqual(send.errors, ['AT+S.GCFG=console_errs: internal error injected by --faults'])
  assert.match(await send('AT+S.GCFG=console_errs'), /AT-S\.OK/, 'the next command is served')
})
