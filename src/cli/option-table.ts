import { Option, type Command } from 'commander'

// A command's options are declared once, as a table keyed by the fields of the command's exported
// options interface, and the commander command is built from that table. The compiler then holds
// the chain from `--help` to the code: an option the help lists is an entry of the table (nothing
// else adds options; test/cli/options.test.ts checks it), every entry is a field of the interface
// and every field an entry (OptionTable), the action is typed by the interface, and a command hands
// its options on with forwardAll (a field its job does not take is a compile error). So an option
// cannot be shown in `--help` and silently dropped, as `demo --device-budget-minutes` once was.

/** `deviceBudgetMinutes` → `device-budget-minutes`: the long flag commander turns into that field. */
type Kebab<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `-${Lowercase<H>}`}${Kebab<T>}`
  : S

/** The flags commander reads as field K: `--k`, `--k <value>` (or `[value]`), or the negation `--no-k`. */
type FlagsOf<K extends string> = `--${Kebab<K>}` | `--${Kebab<K>} ${string}` | `--no-${Kebab<K>}`

/** One option: commander's flags and words, and how its value is made. */
export interface OptionDef<T, K extends string = string> {
  flags: FlagsOf<K>
  description: string
  /** Commander's argument parser (the previous value is the default, or what repeats collected). */
  parse?: (value: string, previous: T) => T
  default?: T
  /** Commander refuses the command without it. */
  required?: true
  /** Not listed in --help: an old name, kept only to be refused with the new one's name. */
  hidden?: true
}

/**
 * The options of a command whose action takes O: one entry per field, no other, each under the
 * flag that names the field. A field that may not be undefined needs a default, `required` or a
 * negatable flag (`--no-x` defaults to true), so the action never sees undefined there.
 */
export type OptionTable<O> = {
  [K in keyof O & string]-?: object extends Pick<O, K>
    ? OptionDef<NonNullable<O[K]>, K>
    : OptionDef<O[K], K> & ({ default: O[K] } | { required: true } | { flags: `--no-${Kebab<K>}` })
}

/** The table each command was built from, so a test can hold `--help` against it. */
const tables = new WeakMap<Command, Record<string, OptionDef<unknown>>>()

/** The option table a command was built from (undefined: none, its options were added some other way). */
export function optionTableOf(cmd: Command): Readonly<Record<string, OptionDef<unknown>>> | undefined {
  return tables.get(cmd)
}

/** A command with its options added; its action is handed the options as O. */
export interface OptionsCommand<O> {
  action(fn: (opts: O, cmd: Command) => Promise<void>): Command
}

/**
 * Adds every option of the table to the command, in the table's order (the order `--help` lists).
 * The flag is checked against its key as commander reads it, also for what the types cannot see.
 */
export function addOptions<O>(cmd: Command, table: OptionTable<O>): OptionsCommand<O> {
  tables.set(cmd, table as Record<string, OptionDef<unknown>>)
  for (const [key, def] of Object.entries(table) as Array<[string, OptionDef<unknown>]>) {
    const option = new Option(def.flags, def.description)
    if (option.attributeName() !== key)
      throw new Error(`option table of ${cmd.name()}: ${def.flags} is read as ${option.attributeName()}, not ${key}`)
    if (def.parse) option.argParser(def.parse)
    if (def.default !== undefined) option.default(def.default)
    if (def.required) option.makeOptionMandatory()
    if (def.hidden) option.hideHelp()
    cmd.addOption(option)
  }
  return { action: (fn) => cmd.action(() => fn(cmd.opts<O & Record<string, unknown>>(), cmd)) }
}

/**
 * Hands a command's options on, every one: `forwardAll<JobOptions>()(rest)` is a compile error
 * when `rest` holds a field the job's options do not have (an option the job would never see).
 */
export function forwardAll<T>() {
  return <V extends T>(value: V & { [K in Exclude<keyof V, keyof T>]: never }): T => value
}
