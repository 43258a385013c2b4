import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ModuleLost, recoverModule, RECOVERY_FAULTS } from '../../src/device/index.js'
import { inProcessEmulator } from '../../src/families/in-process.js'
import { openModule } from '../../src/families/index.js'

// A new user's trial: a module that stalled for good was reset again and again for minutes, and
// every progress line repeated the first error with no count, so nothing said how far the run was
// from giving the device up. Each line now says which fault of the recovery this is and the limit,
// and the device is lost at that limit (docs/run.md). The stall is counted in commands; the reset
// wait is shortened so that twelve silent resets take seconds, not the six minutes of the defaults.
test('a module that never answers: each reset line counts its fault against the limit, and the device is lost at it', async () => {
  // Commands 0-1 identify the module; from command 2 on it answers nothing for ten minutes.
  const m = await openModule('emu:spwf04sa-1.1.0?no-dns&faults=stall@2,stallMs=600000', {
    emulator: inProcessEmulator,
    timeouts: { resetMs: 50, commandMs: 50 },
  })
  try {
    const lines: string[] = []
    const lost = await recoverModule(m.driver, 'no final answer to AT+S.HTTPGET', {
      stopping: () => false,
      now: () => new Date(),
      upload: null,
      onRetry: (detail) => lines.push(detail),
      reboots: { known: m.driver.reboots() },
    }).then(
      () => null,
      (err: unknown) => err,
    )
    assert.ok(lost instanceof ModuleLost, String(lost))
    assert.match(lost.message, new RegExp(`^${RECOVERY_FAULTS} link faults while recovering`))
    assert.equal(lines.length, RECOVERY_FAULTS - 1)
    for (const [i, line] of lines.entries())
      assert.match(
        line,
        new RegExp(
          `^no final answer to AT\\+S\\.HTTPGET \\(again: reset failed, fault ${i + 1} of ${RECOVERY_FAULTS} before the device is lost: `,
        ),
      )
  } finally {
    await m.transport.close()
  }
})
