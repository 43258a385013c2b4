import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// The layers of src/, lowest first, are the README's "Layers" line: each folder may import only
// from folders before it. The test reads the line there, so the README and the code cannot drift.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** Relative imports of a file (static, `export … from`, dynamic `import()`, `import type`), resolved to files. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')))
}

const folderOf = (file: string) => relative(SRC, file).split('/')[0]!

/** `a → b → c` on the README's Layers line. */
function declaredLayers(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const line = /^`(core(?: → [a-z-]+)+)`$/m.exec(readme)
  assert.ok(line, 'README.md has a Layers line: `core → hosts → …`, lowest first')
  return line[1]!.split(' → ')
}

/** Import edges between src/ folders, each with one file import that makes it. */
function folderEdges(files: readonly string[]): Map<string, string> {
  const edges = new Map<string, string>()
  for (const f of files)
    for (const t of importsOf(f)) {
      const [a, b] = [folderOf(f), folderOf(t)]
      if (a !== b && !edges.has(`${a} -> ${b}`))
        edges.set(`${a} -> ${b}`, `${relative(SRC, f)} imports ${relative(SRC, t)}`)
    }
  return edges
}

/** Problems with a folder graph against the declared order: an unknown folder, an arrow up (or a loop). */
function layerProblems(
  layers: readonly string[],
  folders: readonly string[],
  edges: ReadonlyMap<string, string>,
): string[] {
  const problems: string[] = []
  for (const f of folders) if (!layers.includes(f)) problems.push(`src/${f} is in no layer of the README's Layers line`)
  for (const l of layers)
    if (!folders.includes(l)) problems.push(`the Layers line names ${l}, which src/ does not have`)
  for (const [edge, why] of edges) {
    const [a, b] = edge.split(' -> ') as [string, string]
    if (layers.indexOf(b) > layers.indexOf(a)) problems.push(`${a} imports ${b}, a higher layer (${why})`)
  }
  return problems
}

/** File-level import cycles (Tarjan's strongly connected components), each as its files. */
function fileCycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]))
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  let n = 0
  const visit = (v: string) => {
    index.set(v, n)
    low.set(v, n++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(relative(SRC, w))
      } while (w !== v)
      if (scc.length > 1 || graph.get(v)!.includes(v)) out.push(scc.sort())
    }
  }
  for (const f of files) if (!index.has(f)) visit(f)
  return out
}

test("src/ follows the README's layers: no folder imports one above it, so no folder loop", () => {
  const files = sourceFiles(SRC)
  const folders = [...new Set(files.map(folderOf))].filter((f) => f.endsWith('.ts') === false)
  assert.deepEqual(layerProblems(declaredLayers(), folders, folderEdges(files)), [])
})

test('no import loop between files of src/', () => {
  assert.deepEqual(fileCycles(sourceFiles(SRC)), [])
})

test('the checks see what they must refuse: an arrow up, a loop, a folder in no layer', () => {
  const edges = new Map([
    ['device -> emulator', 'device/x.ts imports emulator/y.ts'],
    ['emulator -> device', 'emulator/y.ts imports device/x.ts'],
  ])
  assert.deepEqual(layerProblems(['core', 'device', 'emulator'], ['core', 'device', 'emulator', 'extra'], edges), [
    "src/extra is in no layer of the README's Layers line",
    'device imports emulator, a higher layer (device/x.ts imports emulator/y.ts)',
  ])
})

test('the loop check finds a loop through three files, type-only imports included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-layers-'))
  try {
    writeFileSync(join(dir, 'a.ts'), "import { b } from './b.js'\nexport const a = b\n")
    writeFileSync(join(dir, 'b.ts'), "import type { C } from './c.js'\nexport const b: C = 1\n")
    writeFileSync(join(dir, 'c.ts'), "export type C = number\nexport const c = () => import('./a.js')\n")
    writeFileSync(join(dir, 'd.ts'), "import { a } from './a.js'\nexport const d = a\n")
    const cycles = fileCycles(['a', 'b', 'c', 'd'].map((f) => join(dir, `${f}.ts`)))
    assert.equal(cycles.length, 1)
    assert.deepEqual(
      cycles[0]!.map((f) => f.slice(-4)),
      ['a.ts', 'b.ts', 'c.ts'],
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
