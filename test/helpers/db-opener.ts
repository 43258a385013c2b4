// Opens one database at a signal, as one of many processes started together (test/store/db-safety).
import { existsSync } from 'node:fs'
import { openDb } from '../../src/store/db.js'

const [path, go] = process.argv.slice(2) as [string, string]
process.stdout.write('ready\n')
// Bounded: the parent creates `go` once every opener is ready.
for (let i = 0; i < 60_000 && !existsSync(go); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
try {
  openDb(path).close()
  process.stdout.write('ok\n')
} catch (err) {
  process.stdout.write(`failed ${(err as { code?: string }).code ?? ''} ${(err as Error).message}\n`)
  process.exitCode = 1
}
