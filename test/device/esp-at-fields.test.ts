import { test } from 'node:test'
import assert from 'node:assert/strict'
import { commandLine, quoted, splitParams, unquote } from '../../src/families/esp-at/fields.js'
import { parseGmr } from '../../src/families/esp-at/identify.js'
import { parsePkiPartition, pkiPartition } from '../../src/families/esp-at/pki-partition.js'
import { isDeviceError } from '../../src/device/index.js'

test('AtPKI partition image byte for byte: F1 F1, u16 count, u32 items length, items padded with FF to 4 bytes (LE)', () => {
  const img = pkiPartition([{ type: 1, id: 0, content: Buffer.from('ABCDE') }])
  assert.equal(
    img.toString('hex'),
    [
      'f1f1',
      '0100',
      '0c000000', // magic, 1 item, 12 bytes of items
      '01',
      '00',
      '0500',
      '4142434445',
      'ffffff', // CA, id 0, 5 bytes, content, 3 bytes of padding
    ].join(''),
  )
  // Two items, one already aligned (no padding), one needing 1 byte; a 0x1234-byte length shows LE.
  const big = Buffer.alloc(0x1234, 0x41)
  const two = pkiPartition([
    { type: 1, id: 1, content: Buffer.from('WXYZ') },
    { type: 1, id: 2, content: big },
  ])
  assert.equal(
    two.subarray(0, 8).toString('hex'),
    'f1f1' + '0200' + (8 + 4 + 0x1234 + 0).toString(16).padStart(8, '0').match(/../g)!.reverse().join(''),
  )
  assert.equal(two.subarray(8, 16).toString('hex'), '010104005758595a')
  assert.equal(two.subarray(16, 20).toString('hex'), '01023412')
  assert.equal(two.length, 8 + 8 + 4 + 0x1234)
  assert.deepEqual(
    parsePkiPartition(two)?.map((i) => [i.type, i.id, i.content.length]),
    [
      [1, 1, 4],
      [1, 2, 0x1234],
    ],
  )
  assert.equal(parsePkiPartition(Buffer.from('f0f1010000000000', 'hex')), null, 'wrong magic')
  assert.equal(parsePkiPartition(Buffer.alloc(8192, 0xff)), null, 'erased flash')
})

test('quoted parameters escape backslash, quote and comma; CR, LF, NUL and other control bytes are refused', () => {
  assert.equal(quoted('host', 'a"b,c\\d', { max: 64 }), '"a\\"b\\,c\\\\d"')
  assert.equal(unquote(quoted('host', 'a"b,c\\d', { max: 64 })), 'a"b,c\\d')
  for (const [bad, what] of [
    ['a\rb', 'CR'],
    ['a\nAT+RST', 'LF'],
    ['a\0b', 'NUL'],
    ['a\tb', '0x9'],
    ['é', '0xe9'],
  ] as const) {
    assert.throws(
      () => quoted('host', bad, { max: 64 }),
      (e) => isDeviceError(e, 'AT_INVALID_FIELD') && e.message.includes(what),
      bad,
    )
  }
  assert.throws(
    () => quoted('host', 'h'.repeat(65), { max: 64 }),
    (e) => isDeviceError(e, 'AT_INVALID_FIELD'),
  )
  assert.equal(quoted('host', 'h'.repeat(64), { max: 64 }).length, 66)
  assert.throws(
    () => commandLine(`AT+CIPSSLCSNI="${'x'.repeat(250)}"`),
    (e) => isDeviceError(e, 'AT_INVALID_FIELD'),
  )
  // The module's split honours the escapes: an escaped comma never shifts the fields.
  assert.deepEqual(splitParams(`"SSL",${quoted('host', 'evil.test",443,,,1', { max: 64 })},443,,,15000`), [
    '"SSL"',
    '"evil.test\\"\\,443\\,\\,\\,1"',
    '443',
    '',
    '',
    '15000',
  ])
})

test('AT+GMR: firmware from the first three numbers, build the whole AT version, module from the chip', () => {
  assert.deepEqual(parseGmr('3.3.0.0(s-1234 - ESP32C3 - Aug  1 2024 07:00:00)'), {
    firmware: '3.3.0',
    build: '3.3.0.0',
    module: 'ESP32-C3',
  })
  assert.deepEqual(parseGmr('2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)'), {
    firmware: '2.2.0',
    build: '2.2.0.0-dev',
    module: 'ESP32',
  })
  assert.deepEqual(parseGmr('2.2.1.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)').module, 'ESP8266')
  assert.deepEqual(parseGmr('5.0.0.0(abc - ESP32-C5 - Nov  1 2025 00:00:00)').module, 'ESP32-C5')
  assert.throws(
    () => parseGmr('1.7.4.0(May 11 2020 19:13:04)'),
    (e) => isDeviceError(e, 'DEVICE_UNKNOWN') && /NonOS/.test(e.message),
  )
  assert.throws(
    () => parseGmr('3.3.0.0(x - ESP32S9 - y)'),
    (e) => isDeviceError(e, 'DEVICE_UNKNOWN'),
  )
})
