import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDeviceArgs } from '../../src/jobs/run.js'

test('a device column is named after the port: /dev/ttyUSB0 is ttyUSB0, a pseudo-terminal /dev/pts/3 is pts3 (not "3")', () => {
  assert.deepEqual(
    parseDeviceArgs(['/dev/ttyUSB0', '/dev/pts/3?baud=9600', '/dev/pts/3', 'bench=/dev/pts/4']).map((d) => d.label),
    ['ttyUSB0', 'pts3', 'pts3#2', 'bench'],
  )
})
