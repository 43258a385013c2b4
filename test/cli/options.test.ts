import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Command, Option } from 'commander'
import { addOptions, forwardAll, optionTableOf, type OptionTable } from '../../src/cli/option-table.js'
import { buildProgram, run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

// An option shown in `--help` cannot be silently dropped (issue 19 §2; `demo --device-budget-minutes`
// was). Each command's options are one table keyed by the fields of its options interface: this
// test holds every command's `--help` against its table; the type checks at the end (run by
// `npm run typecheck`) show that the compiler refuses a table or a hand-over that drops a field.

/** The long options a help text lists, `--help` aside (as the docs test reads them). */
function optionsOf(help: string): string[] {
  const section = help.split(/^Options:$/m)[1] ?? ''
  return [...section.matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z-]*)/gm)]
    .map((m) => m[1]!)
    .filter((o) => o !== '--help')
}

async function helpOf(command: string): Promise<string> {
  const io = testIo()
  assert.equal(await run([command, '--help'], io), 0)
  return io.out()
}

/** Why a command's options do not match its table, or null. */
function tableProblem(cmd: Command, listed: readonly string[]): string | null {
  const table = optionTableOf(cmd)
  if (!table) return `${cmd.name()}: its options come from no option table`
  // Every option commander holds came from the table: an `.option()` added beside it would not.
  const held = cmd.options.map((o) => o.attributeName())
  if (JSON.stringify(held) !== JSON.stringify(Object.keys(table)))
    return `${cmd.name()}: options ${held.join(', ')}, table ${Object.keys(table).join(', ')}`
  const visible = Object.values(table)
    .filter((d) => !d.hidden)
    .map((d) => d.flags.split(' ')[0]!)
  if (JSON.stringify(listed) !== JSON.stringify(visible))
    return `${cmd.name()}: --help lists ${listed.join(', ')}, the table ${visible.join(', ')}`
  for (const [key, d] of Object.entries(table))
    if (new Option(d.flags).attributeName() !== key) return `${cmd.name()}: ${d.flags} is not read as ${key}`
  return null
}

test("every option a command's --help lists is an entry of its option table, under the field it is read as", async () => {
  const commands = buildProgram(testIo()).commands
  assert.ok(commands.length >= 10, commands.map((c) => c.name()).join(', '))
  const problems: string[] = []
  for (const cmd of commands) {
    const problem = tableProblem(cmd, optionsOf(await helpOf(cmd.name())))
    if (problem) problems.push(problem)
  }
  assert.deepEqual(problems, [])
})

test('the check sees an option added beside the table, and a flag read as another field is refused at once', async () => {
  const program = buildProgram(testIo())
  const demo = program.commands.find((c) => c.name() === 'demo')!
  const listed = optionsOf(await helpOf('demo'))
  assert.equal(tableProblem(demo, listed), null)
  demo.option('--extra <n>', 'an option no field reads')
  assert.match(tableProblem(demo, [...listed, '--extra']) ?? '', /options .*extra/)
  assert.match(tableProblem(new Command('bare').option('--x'), ['--x']) ?? '', /no option table/)
  // The types refuse this too; a cast gets past them, not past the build.
  const wrong = { budget: { flags: '--device-budget-minutes <n>', description: '' } } as unknown as OptionTable<{
    budget?: string
  }>
  assert.throws(() => addOptions(new Command('x'), wrong), /--device-budget-minutes <n> is read as deviceBudgetMinutes/)
})

// What the compiler refuses (each `@ts-expect-error` fails `npm run typecheck` if the line compiles).
interface Demo {
  deviceBudgetMinutes?: number
  db: string
  json: boolean
  aia: boolean
}
const table = <O>(t: OptionTable<O>) => t
const good = table<Demo>({
  deviceBudgetMinutes: { flags: '--device-budget-minutes <n>', description: '', parse: Number },
  db: { flags: '--db <path>', description: '', default: 'x.db' },
  json: { flags: '--json', description: '', default: false },
  aia: { flags: '--no-aia', description: '' },
})
void good
// @ts-expect-error a field without its option (the interface has deviceBudgetMinutes, the table not)
table<Demo>({
  db: { flags: '--db <path>', description: '', default: 'x.db' },
  json: { flags: '--json', description: '', default: false },
  aia: { flags: '--no-aia', description: '' },
})
table<Demo>({
  deviceBudgetMinutes: { flags: '--device-budget-minutes <n>', description: '', parse: Number },
  db: { flags: '--db <path>', description: '', default: 'x.db' },
  json: { flags: '--json', description: '', default: false },
  aia: { flags: '--no-aia', description: '' },
  // @ts-expect-error an option without its field (shown in --help, read by no one)
  extra: { flags: '--extra', description: '' },
})
table<Demo>({
  // @ts-expect-error a flag commander reads as another field
  deviceBudgetMinutes: { flags: '--device-budget <n>', description: '', parse: Number },
  db: { flags: '--db <path>', description: '', default: 'x.db' },
  json: { flags: '--json', description: '', default: false },
  aia: { flags: '--no-aia', description: '' },
})
table<Demo>({
  deviceBudgetMinutes: { flags: '--device-budget-minutes <n>', description: '', parse: Number },
  // @ts-expect-error a field that is never undefined, from an option with no default
  db: { flags: '--db <path>', description: '' },
  json: { flags: '--json', description: '', default: false },
  aia: { flags: '--no-aia', description: '' },
})
interface SurveyJob {
  db: string
}
const demoOptions = { db: 'x.db', deviceBudgetMinutes: 0 as number | undefined }
forwardAll<SurveyJob>()({ db: demoOptions.db })
// @ts-expect-error handing on options to a job that does not take one of them (the demo bug)
forwardAll<SurveyJob>()(demoOptions)
