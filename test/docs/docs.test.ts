import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT_CODES } from '../../src/core/errors.js'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

// The docs are checked against the files and the code they describe, so they cannot drift silently:
// an example edited without its copy in docs, a renamed heading, a new error code, a removed command,
// a synopsis or an option `--help` has and the command's page does not.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOCS = join(ROOT, 'docs')
const DOC_FILES = [
  'README.md',
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
]
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8')

interface Fence {
  info: string
  body: string
}

/** Fenced code blocks (``` or ~~~, possibly indented in a list) and the Markdown outside them. */
function split(md: string): { fences: Fence[]; prose: string } {
  const fences: Fence[] = []
  const prose: string[] = []
  let open: { indent: number; marker: string; info: string; lines: string[] } | null = null
  for (const line of md.split('\n')) {
    if (open) {
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(line)
      if (close && close[2]![0] === open.marker[0] && close[2]!.length >= open.marker.length) {
        fences.push({ info: open.info, body: open.lines.map((l) => `${l}\n`).join('') })
        open = null
      } else {
        // Strip the fence's own indentation (a block inside a list item), as a Markdown renderer does.
        open.lines.push(line.startsWith(' '.repeat(open.indent)) ? line.slice(open.indent) : line.trimStart())
      }
      continue
    }
    const start = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(line)
    if (start) open = { indent: start[1]!.length, marker: start[2]!, info: start[3]!.trim(), lines: [] }
    else prose.push(line)
  }
  assert.equal(open, null, 'a fenced block is never closed')
  return { fences, prose: prose.join('\n') }
}

const INLINE_CODE = /(`+)([\s\S]*?[^`])\1(?!`)/g
const inlineCode = (prose: string) => [...prose.matchAll(INLINE_CODE)].map((m) => m[2]!.trim())

/** Relative links `[text](target)` outside code. */
function links(md: string): string[] {
  const text = split(md).prose.replace(INLINE_CODE, '')
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!)
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of split(md).prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Problems with one file's links: a missing file, an anchor no heading makes, a link out of the repository. */
function linkProblems(rel: string, md: string): string[] {
  const problems: string[] = []
  for (const link of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
      problems.push(`${rel}: ${link} leaves the repository`)
      continue
    }
    const [path, anchor] = link.split('#') as [string, string | undefined]
    const target = path === '' ? join(ROOT, rel) : join(ROOT, dirname(rel), decodeURIComponent(path))
    if (relative(ROOT, target).startsWith('..')) problems.push(`${rel}: ${link} points outside the repository`)
    else if (!existsSync(target)) problems.push(`${rel}: ${link} points to a missing file`)
    else if (
      anchor !== undefined &&
      statSync(target).isFile() &&
      target.endsWith('.md') &&
      !anchors(readFileSync(target, 'utf8')).has(anchor)
    ) {
      problems.push(`${rel}: ${link} names no heading of ${relative(ROOT, target)}`)
    }
  }
  return problems
}

/** `tlsmatrix <command>` as a command line: an inline code span, or a line of a code block (also after npx, or a Usage: line). */
function commandsMentioned(md: string): string[] {
  const { fences, prose } = split(md)
  const found: string[] = []
  for (const code of inlineCode(prose)) {
    const m = /^(?:npx\s+)?tlsmatrix\s+([a-z][a-z-]*)/.exec(code)
    if (m) found.push(m[1]!)
  }
  for (const f of fences) {
    for (const line of f.body.split('\n')) {
      for (const m of line
        .trim()
        .replace(/^\$\s+/, '')
        .matchAll(/(?:^|\bnpx\s+|^Usage:\s+)tlsmatrix\s+([a-z][a-z-]*)/g))
        found.push(m[1]!)
    }
  }
  return found
}

/** The commands `tlsmatrix --help` lists. */
function realCommands(): Set<string> {
  const help = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  const section = help.split(/^Commands:$/m)[1] ?? ''
  return new Set([...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!))
}

test('docs/scheduling.md holds every example file verbatim, each in a fenced block', () => {
  const { fences } = split(read('docs/scheduling.md'))
  const examples = [
    'examples/crontab',
    'examples/systemd/tlsmatrix-nightly.service',
    'examples/systemd/tlsmatrix-nightly.timer',
    'examples/github/tlsmatrix.yml',
    'examples/nightly.json',
    'examples/release-gate.json',
  ]
  for (const file of examples) {
    const content = read(file)
    const body = content.endsWith('\n') ? content : `${content}\n`
    assert.ok(
      fences.some((f) => f.body === body),
      `${file} is not copied verbatim into a fenced block of docs/scheduling.md`,
    )
  }
  // The comparison is exact: one changed character is caught.
  const changed = read('examples/crontab').replace('02:15', '02:16')
  assert.ok(!fences.some((f) => f.body === changed))
})

test('every relative link in README.md and docs/*.md reaches a file, and its #anchor a heading', () => {
  assert.ok(DOC_FILES.length >= 7, `docs found: ${DOC_FILES.join(', ')}`)
  const all = DOC_FILES.flatMap((rel) => linkProblems(rel, read(rel)))
  assert.deepEqual(all, [])
  // README lists every page of docs/.
  const readmeLinks = new Set(links(read('README.md')))
  for (const rel of DOC_FILES.filter((f) => f.startsWith('docs/')))
    assert.ok(readmeLinks.has(rel), `README.md does not link ${rel}`)
  // The checker sees what it must refuse.
  assert.deepEqual(
    linkProblems('docs/x.md', '[a](nope.md) [b](hosts.md#no-such-heading) [c](https://example.com) `[d](nope.md)`'),
    [
      'docs/x.md: nope.md points to a missing file',
      'docs/x.md: hosts.md#no-such-heading names no heading of docs/hosts.md',
      'docs/x.md: https://example.com leaves the repository',
    ],
  )
  assert.ok(anchors('## `tlsmatrix run` — the survey').has('tlsmatrix-run--the-survey'))
})

test('docs/exit-codes.md lists every code of EXIT_CODES with its exit code, and no other code', () => {
  const md = read('docs/exit-codes.md')
  for (const [code, exit] of Object.entries(EXIT_CODES)) {
    assert.match(
      md,
      new RegExp(`^\\| \`${code}\` \\| ${exit} \\|`, 'm'),
      `${code} (exit ${exit}) is missing or has another exit code`,
    )
  }
  const listed = [...md.matchAll(/^\| `([A-Z][A-Z_]+)` \|/gm)].map((m) => m[1]!)
  assert.deepEqual(
    listed.filter((c) => !(c in EXIT_CODES)),
    [],
  )
  assert.equal(new Set(listed).size, listed.length, 'a code is listed twice')
})

test('every `tlsmatrix <command>` in README.md and docs/*.md is a command tlsmatrix has', () => {
  const commands = realCommands()
  for (const c of ['resolve', 'run', 'report', 'merge', 'lab', 'emulate', 'probe', 'doctor', 'demo'])
    assert.ok(commands.has(c), `--help lists ${c}`)
  const mentioned = new Map<string, string[]>()
  for (const rel of DOC_FILES)
    for (const c of commandsMentioned(read(rel))) mentioned.set(c, [...(mentioned.get(c) ?? []), rel])
  const unknown = [...mentioned]
    .filter(([c]) => !commands.has(c))
    .map(([c, files]) => `tlsmatrix ${c} in ${[...new Set(files)].join(', ')}`)
  assert.deepEqual(unknown, [])
  // The docs do mention commands, so the check is not vacuous, and a made-up one is caught.
  for (const c of ['doctor', 'run', 'report', 'merge', 'emulate', 'probe'])
    assert.ok(mentioned.has(c), `no doc mentions tlsmatrix ${c}`)
  assert.deepEqual(
    commandsMentioned('Use `tlsmatrix learn --device X`.\n\n```sh\nnpx tlsmatrix measure\n# tlsmatrix nightly\n```\n'),
    ['learn', 'measure'],
  )
})

/** The README is the front door; each command's reference is its own page of docs/. */
const README_MAX_LINES = 300
/** Commands whose reference page is not docs/<command>.md. */
const PAGE_OF: Record<string, string> = { report: 'docs/reports.md' }
const pageOf = (command: string) => PAGE_OF[command] ?? `docs/${command}.md`

/** What `tlsmatrix <command> --help` prints, in process. */
async function helpOf(command: string): Promise<string> {
  const io = testIo()
  assert.equal(await run([command, '--help'], io), 0, `${command} --help`)
  return io.out()
}

/** The Usage line(s) of a help text: everything before the first blank line. */
const usageOf = (help: string) => help.split('\n\n')[0]!

/** The long options a help text lists (`--no-wifi` as commander prints it), `--help` aside. */
function optionsOf(help: string): string[] {
  const section = help.split(/^Options:$/m)[1] ?? ''
  return [...section.matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z-]*)/gm)]
    .map((m) => m[1]!)
    .filter((o) => o !== '--help')
}

/**
 * Why a command page does not show its synopsis as `--help` does, or null. A page named after its
 * command starts with it (the title, then the Usage block); any page's first code block is it.
 */
function synopsisProblem(rel: string, md: string, usage: string): string | null {
  const first = split(md).fences[0]
  if (!first || first.body !== `${usage}\n`)
    return `${rel}: its first code block is not the synopsis \`--help\` prints:\n${usage}`
  if (!Object.values(PAGE_OF).includes(rel) && !/^# [^\n]+\n\n```\n/.test(md))
    return `${rel}: does not start with the synopsis (a title, then the Usage block)`
  return null
}

/** The options of a help text that a page never names (as `--option…` in code, inline or in a block). */
function undocumentedOptions(md: string, options: readonly string[]): string[] {
  const { fences, prose } = split(md)
  const code = [...inlineCode(prose), ...fences.map((f) => f.body)].join('\n')
  return options.filter((o) => !new RegExp(`${o}(?![a-z-])`).test(code))
}

test("each command's page starts with the synopsis `--help` prints, and names every option it lists", async () => {
  const commands = [...realCommands()].filter((c) => c !== 'help')
  assert.ok(commands.length >= 10, `commands: ${commands.join(', ')}`)
  const problems: string[] = []
  for (const command of commands) {
    const rel = pageOf(command)
    if (!existsSync(join(ROOT, rel))) {
      problems.push(`${command}: no page ${rel}`)
      continue
    }
    const md = read(rel)
    const help = await helpOf(command)
    const problem = synopsisProblem(rel, md, usageOf(help))
    if (problem) problems.push(problem)
    const missing = undocumentedOptions(md, optionsOf(help))
    if (missing.length) problems.push(`${rel}: does not name ${missing.join(', ')} (from ${command} --help)`)
  }
  assert.deepEqual(problems, [])
  // The checks see what they must refuse: one changed character, a page that opens with prose, an option left out.
  const usage = 'Usage: tlsmatrix merge SRC.db... --into HISTORY.db [--json]'
  assert.equal(synopsisProblem('docs/merge.md', `# merge\n\n\`\`\`\n${usage}\n\`\`\`\n`, usage), null)
  assert.match(
    synopsisProblem('docs/merge.md', `# merge\n\n\`\`\`\n${usage.replace('--json', '--jsn')}\n\`\`\`\n`, usage) ?? '',
    /not the synopsis/,
  )
  assert.match(
    synopsisProblem('docs/merge.md', `# merge\n\nCopies runs.\n\n\`\`\`\n${usage}\n\`\`\`\n`, usage) ?? '',
    /does not start with/,
  )
  assert.deepEqual(
    undocumentedOptions('`--no-wifi` and\n```\n--seed 3\n```\n--log', ['--no-wifi', '--seed', '--log']),
    ['--log'],
  )
  assert.deepEqual(undocumentedOptions('`--profiles-x`', ['--profiles']), ['--profiles'])
  assert.deepEqual(optionsOf(await helpOf('merge')), ['--into', '--json'])
})

test("README lists every command on a line of its own, linking the command's page", () => {
  const readme = read('README.md')
  const lines = split(readme).prose.split('\n')
  for (const command of [...realCommands()].filter((c) => c !== 'help')) {
    const page = pageOf(command)
    assert.ok(
      lines.some((l) => l.includes(`](${page})`) && l.includes(`\`${command}\``)),
      `README has no line naming \`${command}\` and linking ${page}`,
    )
  }
})

test(`README is a front door: at most ${README_MAX_LINES} lines, the exit codes in four rows linking docs/exit-codes.md`, () => {
  const readme = read('README.md')
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines, at most ${README_MAX_LINES}`)
  const rows = [...split(readme).prose.matchAll(/^\| (\d) \|/gm)].map((m) => Number(m[1]))
  assert.deepEqual(rows, [0, 1, 2, 3], 'one table row per exit code, 0 to 3')
  assert.deepEqual(
    [...new Set(Object.values(EXIT_CODES))].sort(),
    [1, 2, 3],
    'every error code exits 1, 2 or 3, as the four rows say',
  )
  assert.ok(links(readme).includes('docs/exit-codes.md'), 'README links docs/exit-codes.md')
})
