import { test } from 'node:test'
import { isAppError } from '../../src/core/errors.js'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { classifyResponse, linePattern, type FirmwareProfile } from '../../src/profile/index.js'
import { loadAllProfiles, loadProfile, validateProfile } from '../../src/families/index.js'

// Issue 20 §5: profile templates (`{n}` a number, `{text}` printable ASCII) were compiled to
// regular expressions, and a template of many adjacent `{text}` (or any run of placeholders that
// can match the same characters) backtracked for ever on a line it does not match: 100% CPU and
// Ctrl-C ignored. Profiles travel between people, so a template is untrusted input.

const FAMILIES_INDEX = fileURLToPath(new URL('../../src/families/index.ts', import.meta.url))
const PROFILE_INDEX = fileURLToPath(new URL('../../src/profile/index.ts', import.meta.url))

/** A shipped profile with one error entry replaced. */
async function withErrorEntry(lines: string[]): Promise<FirmwareProfile> {
  const p = structuredClone(await loadProfile('spwf04sa-1.1.0'))
  p.errors.untrusted = lines
  return p
}

const HOSTILE = [
  // 40 adjacent {text}: one placeholder, in effect.
  `AT-S.${'{text}'.repeat(40)}:X`,
  // Placeholders that can each take the separator between them.
  `AT-S.${'{text}:'.repeat(30)}X`,
  // Adjacent numbers.
  `AT-S.Code:${'{n}'.repeat(30)}X`,
]

test('hostile templates classify a long line in linear time (run apart, with a generous guard)', async () => {
  // In a child process: a regular expression that backtracks never returns to the event loop,
  // so only a process boundary can stop it. The guard is 60 s; the matcher needs milliseconds.
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-template-'))
  const profileFile = join(dir, 'hostile.json')
  writeFileSync(profileFile, JSON.stringify(await withErrorEntry(HOSTILE)))
  const script = `
    const { classifyResponse } = await import(${JSON.stringify(PROFILE_INDEX)})
    const { validateProfile } = await import(${JSON.stringify(FAMILIES_INDEX)})
    const { readFileSync } = await import('node:fs')
    const profile = validateProfile(JSON.parse(readFileSync(${JSON.stringify(profileFile)}, 'utf8')), 'hostile.json')
    const long = 'AT-S.' + ':'.repeat(4000) + 'Y'
    const digits = 'AT-S.Code:' + '7'.repeat(4000) + 'Y'
    const out = [
      classifyResponse([long, 'AT-S.ERROR:111:Request failed'], profile),
      classifyResponse([digits, 'AT-S.ERROR:111:Request failed'], profile),
      classifyResponse(['AT-S.' + ':'.repeat(4000) + ':X', 'AT-S.' + ':'.repeat(4000) + 'X', 'AT-S.Code:' + '7'.repeat(4000) + 'X', 'AT-S.ERROR:111:Request failed'], profile),
    ]
    process.stdout.write(JSON.stringify(out))
  `
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
        (err, stdout, stderr) =>
          resolve({
            code: child.exitCode,
            stdout,
            stderr,
            killed: (err as { killed?: boolean } | null)?.killed ?? false,
          }),
      )
    },
  )
  assert.equal(result.killed, false, 'the classifier did not finish within 60 s')
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(JSON.parse(result.stdout), [
    // A long line no template describes: outside the grammar, a damaged answer, never a verdict.
    { kind: 'damaged', why: `a line outside the spwf04sa-1.1.0 grammar: ${JSON.stringify(`AT-S.${':'.repeat(75)}`)}` },
    {
      kind: 'damaged',
      why: `a line outside the spwf04sa-1.1.0 grammar: ${JSON.stringify(`AT-S.Code:${'7'.repeat(70)}`)}`,
    },
    // And the templates still mean what they say: long runs of text or digits, then the literal X.
    { kind: 'class', class: 'untrusted' },
  ])
})

test('the matcher does at most (line length + 1) × template size steps', () => {
  for (const template of HOSTILE) {
    for (const n of [1_000, 8_000]) {
      const line = `AT-S.${':'.repeat(n)}Y`
      const work = { steps: 0 }
      assert.equal(linePattern(template).test(line, work), false)
      assert.ok(work.steps <= (line.length + 1) * template.length, `${work.steps} steps for ${line.length} characters`)
    }
  }
})

test('the matcher agrees with the regular expression it replaces, on templates that do not backtrack badly', () => {
  // The old meaning, verbatim: {n} is \d+, {text} is printable ASCII, everything else literal.
  const regexOf = (t: string) =>
    new RegExp(
      `^${t
        .split(/(\{n\}|\{text\})/)
        .map((s) =>
          s === '{n}' ? '(\\d+)' : s === '{text}' ? '([\\x20-\\x7e]*)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    )
  let seed = 20
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const parts = ['a', ':', '1', ' ', '{n}', '{text}', '.', '{']
  const chars = ['a', ':', '1', '2', ' ', '.', '\u0007', '\u00e9', '{']
  let matched = 0
  for (let i = 0; i < 3000; i++) {
    const template = Array.from({ length: 1 + rand(6) }, () => parts[rand(parts.length)]).join('')
    const re = regexOf(template)
    for (let j = 0; j < 10; j++) {
      // Half the lines are made from the template (placeholders filled, sometimes one character
      // changed), so both answers are well represented; the rest are random.
      let line = ''
      if (j % 2 === 0) {
        line = template
          .split(/(\{n\}|\{text\})/)
          .map((s) =>
            s === '{n}'
              ? String(rand(1000))
              : s === '{text}'
                ? Array.from({ length: rand(4) }, () => chars[rand(5)]).join('')
                : s,
          )
          .join('')
        if (rand(3) === 0 && line.length > 0) {
          const at = rand(line.length)
          line = line.slice(0, at) + chars[rand(chars.length)] + line.slice(at + 1)
        }
      } else line = Array.from({ length: rand(9) }, () => chars[rand(chars.length)]).join('')
      const want = re.test(line)
      if (want) matched++
      assert.equal(linePattern(template).test(line), want, `${JSON.stringify(template)} on ${JSON.stringify(line)}`)
    }
  }
  assert.ok(matched > 1000, `${matched} matching pairs: the comparison covers matches, not only misses`)
})

test('every shipped profile still classifies its own error lines, and responses.final its final lines', async () => {
  for (const p of await loadAllProfiles()) {
    for (const [cls, entry] of Object.entries(p.errors)) {
      const lines = entry.map((t) => t.replaceAll('{n}', '404').replaceAll('{text}', 'Not Found'))
      const c = classifyResponse(
        [
          ...lines,
          ...(lines.some((l) => p.responses.final.some((f) => linePattern(f).test(l)))
            ? []
            : [p.responses.final[0]!.replaceAll('{n}', '1').replaceAll('{text}', 'x')]),
        ],
        p,
      )
      assert.equal(c.kind, 'class', `${p.id} ${cls}: ${JSON.stringify(c)}`)
    }
  }
})

test('a template the matcher will not take is refused at load, naming the file and the JSON path', async () => {
  const long = await withErrorEntry([`AT-S.${'x'.repeat(600)}{n}`])
  assert.throws(
    () => validateProfile(long, 'mine.json'),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      /^mine\.json: .*errors\.untrusted\[0\]: a template of 608 characters; at most 512/.test((e as Error).message),
  )
  const typo = structuredClone(await loadProfile('spwf04sa-1.1.0'))
  typo.responses.info = [...typo.responses.info, 'AT-S.Loading:{num}']
  assert.throws(
    () => validateProfile(typo, 'mine.json'),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      new RegExp(
        `responses\\.info\\[${typo.responses.info.length - 1}\\]: unknown placeholder \\{num\\} \\(\\{n\\} is a number, \\{text\\} printable text\\)`,
      ).test((e as Error).message),
  )
  // Through the loader too: a file in a --profiles directory.
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-profiles-'))
  writeFileSync(join(dir, 'spwf04sa-9.9.9.json'), JSON.stringify({ ...long, id: 'spwf04sa-9.9.9', firmware: '9.9.9' }))
  await assert.rejects(
    loadProfile(join(dir, 'spwf04sa-9.9.9.json')),
    (e) =>
      isAppError(e, 'PROFILE_INVALID') &&
      (e as Error).message.startsWith(join(dir, 'spwf04sa-9.9.9.json')) &&
      /errors\.untrusted\[0\]/.test((e as Error).message),
  )
  // The hostile templates above are within bounds and load: they are matched, not refused.
  assert.equal(validateProfile(await withErrorEntry(HOSTILE), 'hostile.json').errors.untrusted?.length, 3)
})
