import { test } from 'node:test'
import { isAppError } from '../../src/core/errors.js'
import assert from 'node:assert/strict'
import { z } from 'zod'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toPem } from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import type { Framing } from '../../src/device/at/channel.js'
import { readVariable } from '../../src/device/drivers/common.js'
import { NO_FAULTS } from '../../src/emulator/faults.js'
import type { DialectHandler } from '../../src/emulator/module.js'
import { startEmulator } from '../../src/emulator/serve.js'
import { type Identity, type ModuleDriver } from '../../src/device/index.js'
import { type FirmwareProfile } from '../../src/profile/index.js'
import {
  FAMILIES,
  familyForModule,
  familyOf,
  loadAllProfiles,
  loadProfile,
  openModule,
  planModule,
  registerFamily,
  validateProfile,
  type ModuleFamily,
} from '../../src/families/index.js'

const DER = Buffer.alloc(1000, 0x5a)

test('the registry lists the SPWF and ESP-AT families, in the order open.ts asks them which one answered AT', () => {
  assert.deepEqual(
    FAMILIES.map((f) => f.dialect),
    ['spwf04', 'spwf01', 'esp-at'],
  )
  assert.deepEqual(familyOf('spwf04').modules, ['SPWF04SA'])
  assert.deepEqual(familyOf('spwf01').modules, ['SPWF01SA'])
  assert.equal(familyForModule('SPWF01SA')?.dialect, 'spwf01')
  assert.equal(familyForModule('ESP32')?.dialect, 'esp-at')
  assert.equal(familyForModule('BG95'), undefined)
  assert.equal(FAMILIES.find((f) => f.answersAt('AT-S.OK'))?.dialect, 'spwf04')
  // SPWF01 and ESP-AT both answer OK: ESP-AT's probe (AT+GMR) tells them apart.
  assert.deepEqual(
    FAMILIES.filter((f) => f.answersAt('OK')).map((f) => [f.dialect, f.probe?.command ?? null]),
    [
      ['spwf01', null],
      ['esp-at', 'AT+GMR'],
    ],
  )
  assert.throws(
    () => familyOf('quectel'),
    (e) => isAppError(e, 'PROFILE_INVALID') && /spwf04, spwf01, esp-at/.test((e as Error).message),
  )
})

test('a CA takes its DER in an SPWF04 store and its PEM text in an SPWF01 store', () => {
  assert.equal(familyOf('spwf04').caUploadBytes(DER), 1000)
  // 1000 bytes: 1336 base64 characters on 21 lines, plus the 28-byte header and 26-byte footer.
  assert.equal(familyOf('spwf01').caUploadBytes(DER), 1411)
  assert.equal(Buffer.byteLength(toPem(DER)), 1411)
})

test('a profile whose dialect is no registered family, or whose module its family does not list, is PROFILE_INVALID naming the allowed ones', async () => {
  const good = await loadProfile('spwf04sa-1.1.0')
  const refused = (p: unknown, re: RegExp) =>
    assert.throws(
      () => validateProfile(p, 'mine.json'),
      (e) => isAppError(e, 'PROFILE_INVALID') && re.test((e as Error).message),
    )
  refused({ ...good, dialect: 'quectel' }, /mine\.json: .*dialect must be one of spwf04, spwf01, esp-at/)
  refused({ ...good, module: 'BG95' }, /module must be SPWF04SA, SPWF01SA, ESP32, .* or ESP32-C5/)
  refused({ ...good, module: 'ESP32' }, /module ESP32 is not a spwf04 module/)
  refused({ ...good, module: 'SPWF01SA' }, /module SPWF01SA is not a spwf04 module \(spwf04: SPWF04SA\)/)
  assert.equal(validateProfile(structuredClone(good), 'mine.json').id, 'spwf04sa-1.1.0')
})

/*
 * A throw-away third family, registered by the test alone: an `AT` dialect ending in DONE / FAIL
 * whose version is `AT+VER`. Nothing in open, serve, plan or the profile loader is edited for it.
 */
const TOY_FRAMING: Framing = {
  isOk: (l) => l === 'DONE',
  isError: (l) => /^FAIL(?::|$)/.test(l),
  isWind: (l) => /^\+EVT:/.test(l),
  isReboot: (l) => l === '+EVT:ready',
}

const toyEmulator: DialectHandler = {
  banner: () => ['+EVT:ready'],
  freshRam: () => ({ echo: false, errs: 2, verbose: true, vars: new Map() }),
  payloadLength: () => 0,
  handle(cmd, _payload, out) {
    if (cmd === 'AT') out.line('DONE')
    else if (cmd === 'AT+VER') out.line('+VER:2.0.1').line('DONE')
    else out.line('FAIL:unknown command')
    return Promise.resolve()
  },
  lineError: (out) => {
    out.line('FAIL:line')
  },
}

class ToyDriver implements ModuleDriver {
  constructor(
    readonly identity: Identity,
    readonly profile: FirmwareProfile,
  ) {}
  async prepare(): Promise<void> {}
  async clean(): Promise<void> {}
  uploadCa(): Promise<never> {
    return Promise.reject(new Error('not a real driver'))
  }
  reboots(): number {
    return 0
  }
  httpsGet(): Promise<never> {
    return Promise.reject(new Error('not a real driver'))
  }
  async reset(): Promise<void> {}
  async resync(): Promise<void> {}
  async close(): Promise<void> {}
}

const toyFamily: ModuleFamily = {
  dialect: 'toyat',
  modules: ['TOY1'],
  framing: TOY_FRAMING,
  answersAt: (l) => l === 'DONE',
  rawFinal: 'DONE|FAIL[^\\r\\n]*',
  async identify(channel, timeoutMs) {
    channel.setFraming(TOY_FRAMING)
    const firmware = await readVariable(channel, 'AT+VER', /^\+VER:(\d+\.\d+\.\d+)$/, timeoutMs)
    return { module: 'TOY1', firmware, build: null, dialect: 'toyat' }
  },
  createDriver: (_channel, identity, profile) => new ToyDriver(identity, profile),
  emulator: toyEmulator,
  // Its store keeps the DER padded to 4 bytes behind a 4-byte header.
  caUploadBytes: (der) => 4 + Math.ceil(der.length / 4) * 4,
  doctor: {
    console: () => Promise.resolve({ step: 'console', status: 'ok', detail: 'no settings', fix: null }),
    readClock: () => Promise.resolve(null),
    readWifi: () => Promise.resolve({ ip: null, state: null }),
    caReportsKeyId: false,
    joinFix: 'join it',
    answerFix: 'reset it',
    dnsFix: 'give it a DNS server',
    baudFix: (baud) => `set it back to ${baud}`,
  },
  profileBlock: {
    key: 'toy',
    schema: z.strictObject({ caPartition: z.string({ error: 'must name the partition the CA goes to' }) }),
  },
  // Across fields: its store is one partition, so one slot.
  validate: (p) => (p.store.caSlots === 1 ? [] : ['store.caSlots must be 1: the toy keeps its CA in one partition']),
}

test('a third family registered at run time is recognised on the wire, identified, driven, emulated, sized and validated with no edit elsewhere', async (t) => {
  const unregister = registerFamily(toyFamily)
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-family-'))
  t.after(() => {
    unregister()
    rmSync(dir, { recursive: true, force: true })
  })
  assert.throws(() => registerFamily({ ...toyFamily }), /toyat is already registered/)
  assert.throws(
    () => registerFamily({ ...toyFamily, dialect: 'other', modules: ['SPWF04SA'] }),
    /SPWF04SA already belongs/,
  )

  // An SPWF04 profile without its family's own block (spwf04), which no other family takes.
  const base = structuredClone(await loadProfile('spwf04sa-1.1.0'))
  Reflect.deleteProperty(base, 'spwf04')
  const toy = {
    ...structuredClone(base),
    id: 'toy1-2.0.1',
    module: 'TOY1',
    firmware: '2.0.1',
    build: '',
    dialect: 'toyat',
    toy: { caPartition: 'client_ca' },
  }
  // Profile validation: the registry's names, and the family's own extras.
  assert.equal(validateProfile(structuredClone(toy), 'toy.json').module, 'TOY1')
  assert.throws(
    () => validateProfile({ ...toy, toy: {} }, 'toy.json'),
    (e) => isAppError(e, 'PROFILE_INVALID') && /toy\.caPartition must name/.test((e as Error).message),
  )
  assert.throws(() => validateProfile({ ...toy, toy: undefined }, 'toy.json'), /toy is missing/)
  assert.throws(
    () => validateProfile({ ...toy, store: { ...toy.store, caSlots: 2 } }, 'toy.json'),
    /toy\.json: store\.caSlots must be 1: the toy keeps its CA in one partition/,
  )
  assert.throws(
    () => validateProfile({ ...toy, module: 'SPWF04SA' }, 'toy.json'),
    /module SPWF04SA is not a toyat module \(toyat: TOY1\)/,
  )
  assert.throws(
    () => validateProfile({ ...base, dialect: 'nope' }, 'x.json'),
    /dialect must be one of spwf04, spwf01, esp-at, toyat/,
  )
  // Plan sizes a CA as the family stores it.
  assert.equal(planModule(toy).caBytes(Buffer.alloc(1001)), 1008)

  writeFileSync(join(dir, 'toy1-2.0.1.json'), JSON.stringify(toy))
  assert.ok((await loadAllProfiles([dir])).some((p) => p.id === 'toy1-2.0.1'))
  const emu = await startEmulator({
    profile: toy,
    dialect: toyFamily.emulator,
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    resolveMap: new Map(),
    baud: 115200,
    rtcAtBoot: new Date(),
    wifi: true,
    faults: NO_FAULTS,
    seed: 1,
    requestTimeoutMs: 5000,
    dnsOff: true,
    clock: systemClock,
    log: () => {},
    error: (m) => assert.fail(m),
  })
  t.after(() => emu.close())
  const opened = await openModule(emu.url, { profileDirs: [dir] })
  try {
    assert.deepEqual(opened.identity, { module: 'TOY1', firmware: '2.0.1', build: null, dialect: 'toyat' })
    assert.equal(opened.profile.id, 'toy1-2.0.1')
    assert.equal(opened.profileWarning, null)
    assert.ok(opened.driver instanceof ToyDriver)
  } finally {
    await opened.transport.close()
  }
})
