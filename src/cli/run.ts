import { CommanderError, Command } from 'commander'
import { systemClock, type Clock } from '../core/clock.js'
import { asAppError } from '../core/system-errors.js'
import { termSafe } from '../core/sanitize.js'
// Commands are loaded by their action only: `resolve` must not pay for serialport, node-pty or
// the emulator at start-up, nor `emulate` for SQLite.
import type { EmulateOptions } from './commands/emulate.js'
import type { ProbeOptions } from './commands/probe.js'
import type { DoctorOptions } from './commands/doctor.js'
import type { LearnOptions } from './commands/learn.js'
import type { RunOptions } from './commands/run.js'
import type { ReportOptions } from './commands/report.js'
import type { ResolveOptions } from './commands/resolve.js'
import type { MergeOptions } from './commands/merge.js'
import type { LabOptions } from './commands/lab.js'
import type { DemoOptions } from './commands/demo.js'
import { DEFAULT_REPORT_FORMATS, FAIL_ON, REPORT_FORMATS } from '../report/formats.js'
import { DEFAULT_DB } from './defaults.js'
import type { Io } from './io.js'
import {
  anchorsOption,
  collect,
  intInRange,
  nonEmptyPath,
  oneOf,
  positiveNumber,
  rigName,
  wordList,
} from './options.js'
import { VERSION } from '../core/version.js'
import { addOptions, type OptionDef } from './option-table.js'

/**
 * Options several commands take with one meaning, each declared once: the flag, its words and its
 * parser cannot drift apart from one command to another.
 */
const DEVICE: OptionDef<string, 'device'> & { required: true } = {
  flags: '--device <url>',
  description: '/dev/ttyUSB0[?baud=115200&rtscts=1], tcp://HOST:PORT or emu:<profile>',
  required: true,
}
const PROFILES: OptionDef<string[], 'profiles'> & { default: string[] } = {
  flags: '--profiles <dir>',
  description: 'directory of user firmware profiles (repeatable)',
  parse: collect,
  default: [],
}
const TRUST_STORE: OptionDef<string[], 'trustStore'> & { default: string[] } = {
  flags: '--trust-store <file>',
  description: "PEM bundle added to Node's Mozilla roots (repeatable)",
  parse: collect,
  default: [],
}
const TRUST_STORE_ONLY: OptionDef<boolean, 'trustStoreOnly'> & { default: boolean } = {
  flags: '--trust-store-only',
  description: 'use only the --trust-store bundles',
  default: false,
}
const CONCURRENCY: OptionDef<number, 'concurrency'> & { default: number } = {
  flags: '--concurrency <n>',
  description: 'targets resolved at once',
  parse: intInRange(1, 1024),
  default: 32,
}
const AIA_ALLOW_PRIVATE: OptionDef<boolean, 'aiaAllowPrivate'> & { default: boolean } = {
  flags: '--aia-allow-private',
  description: 'let AIA URLs reach loopback and private addresses',
  default: false,
}
const DEVICE_BUDGET_MINUTES: OptionDef<number, 'deviceBudgetMinutes'> = {
  flags: '--device-budget-minutes <n>',
  description: 'device time each device may spend; the rest is recorded as not run (budget)',
  parse: intInRange(0, 7 * 24 * 60),
}

// The synopses the README shows (a test keeps them equal to `--help`): option order and
// defaults at a glance. Continuation lines align under the first option.
const synopsis = (command: string, ...lines: string[]) =>
  lines.join(`\n${' '.repeat(`Usage: tlsmatrix ${command} `.length)}`)
export const RESOLVE_USAGE = synopsis(
  'resolve',
  '--hosts FILE [--db PATH] [--trust-store FILE]... [--trust-store-only]',
  '[--concurrency N (32)] [--timeout-ms N (10000)] [--resolve HOST:PORT:ADDR]...',
  '[--connect-to HOST:PORT:ADDR:PORT2]... [--aia-allow-private] [--no-aia]',
  '[--hello FILE] [--no-sni] [--json]',
)
export const RUN_USAGE = synopsis(
  'run',
  '--hosts FILE --device [LABEL=]URL [--device ...] [--profiles DIR]...',
  '[--anchors all|first[,include-untrusted]] [--label TEXT] [--rig NAME (host name)] [--db PATH]',
  '[--resolve HOST:PORT:ADDR]...',
  '[--connect-to HOST:PORT:ADDR:PORT2]... [--trust-store FILE]...',
  '[--trust-store-only] [--aia-allow-private]',
  '[--concurrency N (32)] [--timeout-ms N (10000)] [--device-timeout-ms N (60000)] [--json]',
  '[--report DIR] [--report-format html,md,csv,json,junit] [--fail-on WHAT]',
  '[--device-budget-minutes N] [--spec FILE] [--dry-run]',
  '| --resume RUN_ID [--db PATH] [--force] [--json] [--report DIR] [--report-format LIST]',
)
export const REPORT_USAGE = synopsis(
  'report',
  '[--db PATH] [--run RUN_ID]... [--baseline SEL --candidate SEL]',
  '[--format html,md,csv,json,junit] [--out DIR (reports/)]',
  '[--fail-on regression|unsafe|any-fail|never (never)] [--expiry-days N (90)]',
  '[--tags TAG,...] [--title TEXT]',
)
export const MERGE_USAGE = synopsis('merge', 'SRC.db... --into HISTORY.db [--json]')
export const DOCTOR_USAGE = synopsis('doctor', '--device URL [--probe-host NAME] [--profiles DIR]... [--json]')
export const LEARN_USAGE = synopsis(
  'learn',
  '--device URL [--out FILE (<module>-<firmware>-learned.json)] [--db PATH]',
  '[--resume RUN_ID] [--budget-minutes N] [--from PROFILE] [--profiles DIR]...',
  '[--lab-host NAME (probe.tlsmatrix.test)] [--lab-listen ADDR (127.0.0.1)] [--json]',
)

/**
 * The whole CLI as a function: argv in, exit code out. Only main.ts touches process.*.
 * Exit codes come from one table, EXIT_CODES in src/core/errors.ts.
 */
export async function run(argv: readonly string[], io: Io, clock: Clock = systemClock): Promise<number> {
  try {
    await buildProgram(io, clock).parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    return exitCodeFor(err, io)
  }
}

/** The command table: every command, its options (each from its command's option table) and its action. */
export function buildProgram(io: Io, clock: Clock = systemClock): Command {
  const program = new Command('tlsmatrix')
    .description('Which TLS servers can your Wi-Fi module reach, on which firmware, with which root, and why.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's own "error: option … argument … is invalid" speaks like every other usage error.
      outputError: (s, write) => write(s.replace(/^error: /, 'tlsmatrix: USAGE: ')),
    })
    .showHelpAfterError('(try --help)')

  addOptions<ResolveOptions>(
    program
      .command('resolve')
      .description("capture each target's chain exactly as sent and list every candidate root")
      .usage(RESOLVE_USAGE),
    {
      hosts: {
        flags: '--hosts <file>',
        description: 'targets, one "host[:port] [key=value ...]" per line',
        required: true,
      },
      db: { flags: '--db <path>', description: 'SQLite database', default: DEFAULT_DB },
      trustStore: TRUST_STORE,
      trustStoreOnly: TRUST_STORE_ONLY,
      concurrency: CONCURRENCY,
      timeoutMs: {
        flags: '--timeout-ms <n>',
        description: 'per-target time limit in milliseconds',
        parse: intInRange(100, 600_000),
        default: 10_000,
      },
      resolve: {
        flags: '--resolve <host:port:addr>',
        description: 'use this address for host:port, without DNS (repeatable)',
        parse: collect,
        default: [],
      },
      connectTo: {
        flags: '--connect-to <host:port:addr:port2>',
        description: 'connect to addr:port2 for host:port; the name stays host:port (repeatable)',
        parse: collect,
        default: [],
      },
      aiaAllowPrivate: AIA_ALLOW_PRIVATE,
      aia: { flags: '--no-aia', description: 'never download missing intermediates' },
      hello: {
        flags: '--hello <file>',
        description: 'JSON ClientHello profile (versions, cipherSuites, groups, signatureAlgorithms, sni)',
      },
      sni: { flags: '--no-sni', description: 'send no server name' },
      json: {
        flags: '--json',
        description: 'print a JSON array, one object per target, in hosts-file order',
        default: false,
      },
    },
  ).action(async (o) => {
    const { resolveCommand } = await import('./commands/resolve.js')
    await resolveCommand(o, io, clock)
  })

  addOptions<RunOptions>(
    program
      .command('run')
      .description('the survey: every target, every candidate root, every device; verdicts into SQLite')
      .usage(RUN_USAGE),
    {
      hosts: { flags: '--hosts <file>', description: 'targets, one "host[:port] [key=value ...]" per line' },
      device: {
        flags: '--device <[label=]url>',
        description: 'a module: /dev/ttyUSB0[?baud=…&rtscts=1], tcp://HOST:PORT or emu:<profile> (repeatable)',
        parse: collect,
        default: [],
      },
      profiles: PROFILES,
      anchors: {
        flags: '--anchors <mode>',
        description:
          'try every candidate root (all) or only the preferred one (first); add include-untrusted (e.g. all,include-untrusted) to also upload CAs in no trust store, for a private PKI',
        parse: anchorsOption,
        default: 'all',
      },
      label: { flags: '--label <text>', description: 'a name for this run in reports' },
      rig: {
        flags: '--rig <name>',
        description: 'the machine this run is made on, kept with the run (default: the host name)',
        parse: rigName,
      },
      db: { flags: '--db <path>', description: 'SQLite database', default: DEFAULT_DB },
      resume: { flags: '--resume <run-id>', description: 'finish an interrupted run; redoes nothing recorded' },
      resolve: {
        flags: '--resolve <host:port:addr>',
        description: 'address for host:port without DNS, also for emu: devices (repeatable)',
        parse: collect,
        default: [],
      },
      connectTo: {
        flags: '--connect-to <host:port:addr:port2>',
        description: 'connect to addr:port2 for host:port (the name stays), also for emu: devices (repeatable)',
        parse: collect,
        default: [],
      },
      trustStore: TRUST_STORE,
      trustStoreOnly: TRUST_STORE_ONLY,
      aiaAllowPrivate: AIA_ALLOW_PRIVATE,
      concurrency: CONCURRENCY,
      timeoutMs: {
        flags: '--timeout-ms <n>',
        description: 'per-target resolution time limit in milliseconds',
        parse: intInRange(100, 600_000),
        default: 10_000,
      },
      deviceTimeoutMs: {
        flags: '--device-timeout-ms <n>',
        description: 'time a module may take for one HTTPS request before its link is presumed dead',
        parse: intInRange(500, 600_000),
        default: 60_000,
      },
      force: {
        flags: '--force',
        description: 'with --resume: accept a hosts file that changed since the run began',
        default: false,
      },
      json: { flags: '--json', description: 'print the run as JSON', default: false },
      report: {
        flags: '--report <dir>',
        description: 'when the run ends (also early), write its report to this directory',
        parse: nonEmptyPath,
      },
      reportFormat: {
        flags: '--report-format <list>',
        description: 'formats for --report',
        parse: wordList(REPORT_FORMATS),
        default: [...DEFAULT_REPORT_FORMATS],
      },
      failOn: {
        flags: '--fail-on <what>',
        description: 'with --report: exit 1 when regression, unsafe or any-fail holds',
        parse: oneOf(FAIL_ON),
      },
      deviceBudgetMinutes: DEVICE_BUDGET_MINUTES,
      spec: {
        flags: '--spec <file>',
        description: 'a run spec (JSON or YAML): hosts, devices, database, report; flags given here override it',
      },
      dryRun: {
        flags: '--dry-run',
        description: 'check the spec and the inputs, print what would run, and exit (no device, no database)',
        default: false,
      },
    },
  ).action(async (o, cmd) => {
    const { runCommand } = await import('./commands/run.js')
    await runCommand(o, givenOptions(cmd), io, clock)
  })

  addOptions<ReportOptions>(
    program
      .command('report')
      .description('the firmware comparison from the database: matrix, why, anchors, diff, chain changes, expiry')
      .usage(REPORT_USAGE),
    {
      db: { flags: '--db <path>', description: 'SQLite database', default: DEFAULT_DB },
      run: {
        flags: '--run <run-id>',
        description: "only this run (repeatable); default: each cell's latest verdict across all runs",
        parse: collect,
        default: [],
      },
      baseline: { flags: '--baseline <sel>', description: 'MODULE@FIRMWARE or run:RUN_ID to compare from' },
      candidate: { flags: '--candidate <sel>', description: 'MODULE@FIRMWARE or run:RUN_ID to compare to' },
      format: {
        flags: '--format <list>',
        description:
          'html, md, csv, json, junit (the default), pem, docs, summary (comma-separated; pem: the CA bundles to provision, one per firmware; docs: a page to publish; summary: lines for a pull request)',
        parse: wordList(REPORT_FORMATS),
        default: [...DEFAULT_REPORT_FORMATS],
      },
      out: {
        flags: '--out <dir>',
        description:
          'directory for index.html, matrix.md, attempts.csv, report.json, junit.xml (compatibility.md, summary.txt)',
        parse: nonEmptyPath,
        default: 'reports',
      },
      failOn: {
        flags: '--fail-on <what>',
        description: 'exit 1 when: regression, unsafe, any-fail, or never',
        parse: oneOf(FAIL_ON),
        default: 'never',
      },
      expiryDays: {
        flags: '--expiry-days <n>',
        description: 'forecast certificates expiring within N days',
        parse: intInRange(0, 36_500),
        default: 90,
      },
      tags: {
        flags: '--tags <list>',
        description: 'only targets with one of these tags (comma-separated)',
        parse: (v: string, prev: string[] = []) => [
          ...prev,
          ...v
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        ],
        default: [],
      },
      title: { flags: '--title <text>', description: 'title of the report' },
    },
  ).action(async (o) => {
    const { reportCommand } = await import('./commands/report.js')
    await reportCommand(o, io, clock)
  })

  addOptions<MergeOptions>(
    program
      .command('merge')
      .description('copy the runs of other databases (other rigs) into one history; merging again adds nothing')
      .usage(MERGE_USAGE)
      .argument('<source...>', 'tlsmatrix databases to copy from (only read, also while a run writes to them)'),
    {
      into: { flags: '--into <path>', description: 'the history database (created if missing)', required: true },
      json: { flags: '--json', description: 'print what each source added as JSON', default: false },
    },
  ).action(async (o, cmd) => {
    const { mergeCommand } = await import('./commands/merge.js')
    await mergeCommand(cmd.processedArgs[0] as string[], o, io, clock)
  })

  addOptions<LabOptions>(
    program
      .command('lab')
      .description('serve a lab of TLS hosts on loopback, one chain feature varied at a time, until Ctrl-C'),
    {
      labSpec: { flags: '--lab-spec <file>', description: 'lab spec, e.g. data/lab/basic.json (required)' },
      spec: { flags: '--spec <file>', description: 'the old name of --lab-spec (refused)', hidden: true },
      cacheDir: { flags: '--cache-dir <dir>', description: 'where generated keys and certificates are kept' },
      out: { flags: '--out <dir>', description: 'where hosts.txt and trust.pem are written' },
      ephemeral: { flags: '--ephemeral', description: 'ignore fixed ports in the spec', default: false },
      ports: {
        flags: '--ports <file>',
        description:
          'keep the ports from start to start: take those recorded in FILE again, record new ones (target ids stay the same)',
      },
      rotate: {
        flags: '--rotate <host=n>',
        description: "serve rotation n of a host's chain (its spec's rotations; 0 is its own chain) (repeatable)",
        parse: collect,
        default: [],
      },
    },
  ).action(async (o) => {
    const { labCommand } = await import('./commands/lab.js')
    await labCommand(o, io, clock)
  })

  addOptions<EmulateOptions>(
    program
      .command('emulate')
      .description(
        'run an emulated module (SPWF04SA, SPWF01SA or ESP-AT, as its profile says) on a pseudo-terminal or TCP port; prints the URL first',
      ),
    {
      firmware: {
        flags: '--firmware <id|file>',
        description: 'firmware profile id (data/firmware) or JSON file',
        required: true,
      },
      pty: { flags: '--pty', description: 'serve on a new pseudo-terminal', default: false },
      listen: { flags: '--listen <url>', description: 'serve on tcp://HOST:PORT (port 0 picks one), like ser2net' },
      resolve: {
        flags: '--resolve <host:port:addr>',
        description: 'address for host:port, without DNS (repeatable)',
        parse: collect,
        default: [],
      },
      connectTo: {
        flags: '--connect-to <host:port:addr:port2>',
        description: 'connect to addr:port2 when asked for host:port; the name stays host:port (repeatable)',
        parse: collect,
        default: [],
      },
      baud: {
        flags: '--baud <n>',
        description: 'line speed used for pacing',
        parse: intInRange(300, 4_000_000),
        default: 115200,
      },
      clock: { flags: '--clock <iso>', description: 'module clock at power-on (default 2000-01-01T00:00:00Z)' },
      wifi: {
        flags: '--no-wifi',
        description: "boot without a network: requests fail as the module's do without Wi-Fi (SPWF04SA: ERROR:44)",
      },
      faults: {
        flags: '--faults <spec>',
        description: 'seeded faults per command: drop=P,corrupt=P,stall=P,reboot=P,wind=P,stallMs=N',
      },
      seed: { flags: '--seed <n>', description: 'fault seed', parse: intInRange(0, 2 ** 31), default: 1 },
      log: { flags: '--log', description: 'log each decision to stderr', default: false },
      profiles: PROFILES,
      requestTimeoutMs: {
        flags: '--request-timeout-ms <n>',
        description: 'how long the module waits for a server',
        parse: intInRange(100, 600_000),
        default: 15_000,
      },
      dns: {
        flags: '--no-dns',
        description: 'names missing from --resolve/--connect-to fail as DNS errors (offline labs)',
      },
      stats: {
        flags: '--stats <file>',
        description: 'on exit, write bytes, requests and network time to this JSON file (benchmarks)',
      },
      allowRemote: {
        flags: '--allow-remote',
        description:
          'let --listen use a non-loopback address (whoever connects makes real HTTPS requests through this machine)',
        default: false,
      },
      exitWithStdin: {
        flags: '--exit-with-stdin',
        description: 'exit when standard input closes (set by the process that starts it)',
        default: false,
      },
    },
  ).action(async (o) => {
    const { emulateCommand } = await import('./commands/emulate.js')
    await emulateCommand(o, io, clock)
  })

  addOptions<ProbeOptions>(
    program
      .command('probe')
      .description('identify one module; with --ca and --target, upload the CA and do one HTTPS GET'),
    {
      device: DEVICE,
      ca: { flags: '--ca <file>', description: 'CA certificate to upload (PEM or DER)' },
      target: { flags: '--target <host[:port][/path]>', description: 'what to GET over HTTPS' },
      resolve: {
        flags: '--resolve <host:port:addr>',
        description: 'address for host:port, for emu: devices (repeatable)',
        parse: collect,
        default: [],
      },
      connectTo: {
        flags: '--connect-to <host:port:addr:port2>',
        description: 'addr:port2 for host:port, for emu: devices (repeatable)',
        parse: collect,
        default: [],
      },
      profiles: PROFILES,
      json: { flags: '--json', description: 'JSON output, with the transcript', default: false },
    },
  ).action(async (o) => {
    const { probeCommand } = await import('./commands/probe.js')
    await probeCommand(o, io, clock)
  })

  addOptions<DoctorOptions>(
    program
      .command('doctor')
      .description(
        'check a bench step by step (port, line speed, module, console, clock, Wi-Fi, DNS, CA store), each with its fix',
      )
      .usage(DOCTOR_USAGE),
    {
      device: DEVICE,
      probeHost: {
        flags: '--probe-host <name>',
        description: 'a name the module looks up to check DNS (default: none, nothing leaves the bench)',
      },
      profiles: PROFILES,
      json: { flags: '--json', description: 'JSON output: { device, url, ready, module, steps }', default: false },
    },
  ).action(async (o) => {
    const { doctorCommand } = await import('./commands/doctor.js')
    await doctorCommand(o, io, clock)
  })

  addOptions<LearnOptions>(
    program
      .command('learn')
      .description('measure a firmware profile from the module itself, against a probe lab made on the fly')
      .usage(LEARN_USAGE),
    {
      device: DEVICE,
      out: {
        flags: '--out <file>',
        description: 'where the learned profile is written (default: <module>-<firmware>-learned.json here)',
      },
      db: {
        flags: '--db <path>',
        description: 'SQLite database (each probe is an attempt of a learn run)',
        default: DEFAULT_DB,
      },
      resume: {
        flags: '--resume <run-id>',
        description: 'continue an interrupted learn run: its probes are not asked again',
      },
      budgetMinutes: {
        flags: '--budget-minutes <n>',
        description:
          'device time to spend (minutes, e.g. 20 or 0.5); what is not measured by then stays unknown (a partial profile)',
        parse: positiveNumber(7 * 24 * 60),
      },
      from: {
        flags: '--from <profile>',
        description: 'the profile to compare with and take unmeasured values from (default: the closest shipped one)',
      },
      profiles: PROFILES,
      labHost: {
        flags: '--lab-host <name>',
        description:
          "the name the module is asked for; on a real bench it must resolve to this machine on the module's network",
        default: 'probe.tlsmatrix.test',
      },
      labListen: {
        flags: '--lab-listen <addr>',
        description:
          "the address the probe lab listens on (this machine's address on the module's network for a real module)",
        default: '127.0.0.1',
      },
      json: {
        flags: '--json',
        description: 'JSON output: the fields, how each was obtained, and the cost',
        default: false,
      },
    },
  ).action(async (o) => {
    const { learnCommand } = await import('./commands/learn.js')
    await learnCommand(o, io, clock)
  })

  addOptions<DemoOptions>(
    program
      .command('demo')
      .description('the built-in default: the field report reproduced offline (lab, four emulated modules, survey)'),
    {
      deviceBudgetMinutes: DEVICE_BUDGET_MINUTES,
      labSpec: { flags: '--lab-spec <file>', description: 'lab spec (default: data/lab/field-report.json)' },
      spec: { flags: '--spec <file>', description: 'the old name of --lab-spec (refused)', hidden: true },
      db: { flags: '--db <path>', description: 'SQLite database', default: DEFAULT_DB },
      json: { flags: '--json', description: 'JSON output', default: false },
      report: {
        flags: '--report <dir>',
        description: 'where index.html and matrix.md are written',
        parse: nonEmptyPath,
        default: 'reports',
      },
    },
  ).action(async (o) => {
    const { demoCommand } = await import('./commands/demo.js')
    await demoCommand(o, io, clock)
  })

  return program
}

/** Long names of the options set on the command line, not by default. */
function givenOptions(cmd: Command): string[] {
  return cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? o.flags)
}

function exitCodeFor(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; usage mistakes are exit 2 for us.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
      ? 0
      : 2
  }
  const e = asAppError(err)
  if (e.code === 'FINDINGS' || e.code === 'INTERRUPTED' || e.code === 'DEVICE_LOST') {
    // Already reported by the command; the message, if any, is its last word.
    if (e.message) io.stderr.write(`${e.message}\n`)
  } else {
    io.stderr.write(`tlsmatrix: ${e.code}: ${e.message.split('\n').map(termSafe).join('\n')}\n`)
    if (e.code === 'INTERNAL' && io.env.TLSMATRIX_DEBUG) io.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  }
  return e.exitCode
}
