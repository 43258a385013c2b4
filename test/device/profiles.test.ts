import { test } from 'node:test'
import { isAppError } from '../../src/core/errors.js'
import assert from 'node:assert/strict'
import { pickProfile } from '../../src/device/index.js'
import { loadAllProfiles, loadProfile, validateProfile } from '../../src/families/index.js'
import { loaderArgs } from '../../src/device/transport/emu.js'

test('every shipped profile validates and marks its guesses', async () => {
  const all = await loadAllProfiles()
  assert.deepEqual(all.map((p) => p.id).sort(), [
    'esp-at-2.2-esp8266',
    'esp-at-3.3-esp32c3',
    'esp-at-4.1-esp32',
    'esp-at-5.0-esp32c5',
    'spwf01sa-3.5.3',
    'spwf04sa-1.0.0',
    'spwf04sa-1.1.0',
  ])
  for (const p of all)
    assert.ok(
      p.notes.some((n) => n.includes('GUESS')),
      p.id,
    )
})

test('a module is matched by version; an unknown version falls back to the newest profile and says so', async () => {
  const all = await loadAllProfiles()
  assert.equal(
    pickProfile({ module: 'SPWF04SA', firmware: '1.0.0', build: null, dialect: 'spwf04' }, all).profile.id,
    'spwf04sa-1.0.0',
  )
  const unknown = pickProfile(
    { module: 'SPWF04SA', firmware: '1.2.0', build: '180301-abcdef0-SPWF04S', dialect: 'spwf04' },
    all,
  )
  assert.equal(unknown.profile.id, 'spwf04sa-1.1.0')
  assert.match(
    unknown.warning ?? '',
    /no profile for SPWF04SA firmware 1\.2\.0 .* using spwf04sa-1\.1\.0's error table/,
  )
})

test('a broken user profile is refused with what is wrong', async () => {
  const good = await loadProfile('spwf04sa-1.1.0')
  const bad = structuredClone(good) as unknown as Record<string, unknown>
  ;(bad.tls as Record<string, unknown>).cipherSuites = ['TLS_MADE_UP']
  ;(bad.errors as Record<string, unknown>).flaky = ['x']
  assert.throws(
    () => validateProfile(bad, 'mine.json'),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      /unknown cipher suite "TLS_MADE_UP"/.test((e as Error).message) &&
      /unknown failure class "flaky"/.test((e as Error).message),
  )
  await assert.rejects(loadProfile('no-such-profile'), (e) => isAppError(e, 'PROFILE_NOT_FOUND'))
  await assert.rejects(loadProfile('../etc/passwd'), (e) => isAppError(e, 'PROFILE_INVALID'))
})

test('an emulator started by a runner inherits module loaders, not debugger flags', () => {
  assert.deepEqual(loaderArgs(['--inspect=9229', '--import', 'tsx', '--max-old-space-size=100', '--require=./x.cjs']), [
    '--import',
    'tsx',
    '--require=./x.cjs',
  ])
})

test('a misspelt or unknown field is refused, naming it, instead of its default being used silently', async () => {
  const base = structuredClone(await loadProfile('spwf04sa-1.1.0'))
  const typo = { ...base, tls: { ...base.tls, checkValidty: false } }
  assert.throws(
    () => validateProfile(typo, 'mine.json'),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      /^mine\.json: .*unknown field tls\."checkValidty" \(tls has versions, .*checkValidity/.test((e as Error).message),
  )
  assert.throws(
    () => validateProfile({ ...base, comment: 'x' }, 'mine.json'),
    /unknown field "comment" \(a profile has id, .*a remark goes in notes\)/,
  )
  assert.throws(
    () => validateProfile({ ...base, store: { ...base.store, maxCaByte: 1 } }, 'mine.json'),
    /unknown field store\."maxCaByte"/,
  )
  const esp = structuredClone(await loadProfile('esp-at-3.3-esp32c3')) as unknown as { esp: Record<string, unknown> }
  assert.throws(
    () => validateProfile({ ...esp, esp: { ...esp.esp, caStroe: 'sysmfg' } }, 'esp.json'),
    /unknown field esp\."caStroe" \(esp has caStore, sniDefault, errno, cipherCommand\)/,
  )
  // store.caBundle says whether one slot takes a PEM bundle: a boolean, and caSlots a whole number.
  assert.equal(validateProfile({ ...base, store: { ...base.store, caBundle: true } }, 'mine.json').store.caBundle, true)
  assert.throws(
    () => validateProfile({ ...base, store: { ...base.store, caBundle: 'yes' } }, 'mine.json'),
    /store\.caBundle must be true or false/,
  )
  assert.throws(
    () => validateProfile({ ...base, store: { ...base.store, caSlots: 0 } }, 'mine.json'),
    /store\.caSlots must be a whole number of 1 or more/,
  )
  // The family's own block is known to its profiles only.
  assert.throws(() => validateProfile({ ...base, esp: esp.esp }, 'mine.json'), /unknown field "esp"/)
  assert.equal(validateProfile(esp, 'esp.json').module, 'ESP32-C3')
})

test("the SPWF04SA's spwf04 block: the resync variable is data, checked as a variable name", async () => {
  const s4 = await loadProfile('spwf04sa-1.1.0')
  assert.deepEqual((s4 as { spwf04?: unknown }).spwf04, { syncVariable: 'ip_apdomainname' })
  // It goes into a command line: nothing that could end or split one.
  assert.throws(
    () => validateProfile({ ...s4, spwf04: { syncVariable: 'ip_hostname,1\r' } }, 'mine.json'),
    /spwf04\.syncVariable must be a variable name/,
  )
  assert.throws(
    () => validateProfile({ ...s4, spwf04: { syncVariabel: 'ip_hostname' } }, 'mine.json'),
    /unknown field spwf04\."syncVariabel" \(spwf04 has syncVariable\)/,
  )
  // Optional: a profile without it uses the default; another family has no such block.
  const without: Record<string, unknown> = { ...s4 }
  delete without.spwf04
  assert.equal(validateProfile(without, 'mine.json').id, 'spwf04sa-1.1.0')
  const s1 = await loadProfile('spwf01sa-3.5.3')
  assert.throws(() => validateProfile({ ...s1, spwf04: { syncVariable: 'x' } }, 'mine.json'), /unknown field "spwf04"/)
})

test('every field the type has is required (absent, it is named, not read as false), and each problem names its JSON path', async () => {
  const base = structuredClone(await loadProfile('spwf04sa-1.1.0'))
  const without = structuredClone(base)
  Reflect.deleteProperty(without.tls, 'checkValidity')
  Reflect.deleteProperty(without.store, 'caSlots')
  assert.throws(
    () => validateProfile(without, 'mine.json'),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      /^mine\.json: tls\.checkValidity must be true or false; store\.caSlots is missing$/.test((e as Error).message),
  )
  assert.throws(
    () =>
      validateProfile(
        { ...base, tls: { ...base.tls, versions: ['TLSv1.2', 'SSLv3'], maxChainBytes: -1 } },
        'mine.json',
      ),
    /tls\.versions\[1\] must be TLSv1, TLSv1\.1, TLSv1\.2, TLSv1\.3; tls\.maxChainBytes: /,
  )
  assert.throws(() => validateProfile('spwf04', 'mine.json'), /mine\.json: not a JSON object/)
})
