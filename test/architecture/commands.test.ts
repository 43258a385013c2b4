import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// The command line only parses, calls one job (src/jobs/) and formats: a command does not import
// another (what two share is in src/cli/output/ or a job), holds no SQL (store queries live in the
// store), and only src/cli/main.ts touches `process`.

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

const importsOf = (file: string) =>
  ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((i) => i.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')))

/** A file's code without its comments (a comment may name `process.*` or a query it does not run). */
const code = (file: string) =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')

/** SQL in a source text: a statement, not a word such as "update" in a comment. */
const SQL = /\b(SELECT\s+[\w*,\s()]+\s+FROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b/

test('no command imports another command', () => {
  const commands = files(join(SRC, 'cli/commands'))
  assert.ok(commands.length >= 10)
  const crossing = commands.flatMap((f) =>
    importsOf(f)
      .filter((t) => commands.includes(t))
      .map((t) => `${relative(SRC, f)} imports ${relative(SRC, t)}`),
  )
  assert.deepEqual(crossing, [])
})

test('the command line and the jobs hold no SQL; in src/cli only main.ts touches process', () => {
  const sql = [...files(join(SRC, 'cli')), ...files(join(SRC, 'jobs'))]
    .filter((f) => SQL.test(code(f)))
    .map((f) => relative(SRC, f))
  assert.deepEqual(sql, [])
  const proc = files(join(SRC, 'cli'))
    .filter((f) => /\bprocess\./.test(code(f)))
    .map((f) => relative(SRC, f))
  assert.deepEqual(proc, ['cli/main.ts'])
  // The SQL check sees what it must refuse, and lets prose be.
  assert.ok(SQL.test("db.prepare('SELECT id FROM runs WHERE status = ?')"))
  assert.ok(SQL.test('`UPDATE runs SET status = ?`'))
  assert.ok(!SQL.test('// select the run, then update it from the store'))
})
