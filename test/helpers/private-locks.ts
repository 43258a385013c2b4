// Imported for its effect by the helpers every device test uses (io, spawn-cli, pty-emulator): each
// test process takes device locks in a directory of its own, inherited by the CLIs it spawns, so
// no test shares the machine's (the user's) lock directory with another test or a real run.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOCK_DIR_ENV } from '../../src/device/lock.js'

process.env[LOCK_DIR_ENV] ??= mkdtempSync(join(tmpdir(), 'tlsmatrix-test-locks-'))
