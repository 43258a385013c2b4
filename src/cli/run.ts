import { Command, CommanderError, Option } from 'commander'
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
import { VERSION } from './version.js'

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

  program
    .command('resolve')
    .description("capture each target's chain exactly as sent and list every candidate root")
    .usage(RESOLVE_USAGE)
    .requiredOption('--hosts <file>', 'targets, one "host[:port] [key=value ...]" per line')
    .option('--db <path>', 'SQLite database', DEFAULT_DB)
    .option('--trust-store <file>', "PEM bundle added to Node's Mozilla roots (repeatable)", collect, [])
    .option('--trust-store-only', 'use only the --trust-store bundles', false)
    .option('--concurrency <n>', 'targets resolved at once', intInRange(1, 1024), 32)
    .option('--timeout-ms <n>', 'per-target time limit in milliseconds', intInRange(100, 600_000), 10_000)
    .option('--resolve <host:port:addr>', 'use this address for host:port, without DNS (repeatable)', collect, [])
    .option(
      '--connect-to <host:port:addr:port2>',
      'connect to addr:port2 for host:port; the name stays host:port (repeatable)',
      collect,
      [],
    )
    .option('--aia-allow-private', 'let AIA URLs reach loopback and private addresses', false)
    .option('--no-aia', 'never download missing intermediates')
    .option('--hello <file>', 'JSON ClientHello profile (versions, cipherSuites, groups, signatureAlgorithms, sni)')
    .option('--no-sni', 'send no server name')
    .option('--json', 'print a JSON array, one object per target, in hosts-file order', false)
    .action(async (o: ResolveOptions) => {
      const { resolveCommand } = await import('./commands/resolve.js')
      await resolveCommand(o, io, clock)
    })

  program
    .command('run')
    .description('the survey: every target, every candidate root, every device; verdicts into SQLite')
    .usage(RUN_USAGE)
    .option('--hosts <file>', 'targets, one "host[:port] [key=value ...]" per line')
    .option(
      '--device <[label=]url>',
      'a module: /dev/ttyUSB0[?baud=…&rtscts=1], tcp://HOST:PORT or emu:<profile> (repeatable)',
      collect,
      [],
    )
    .option('--profiles <dir>', 'directory of user firmware profiles (repeatable)', collect, [])
    .addOption(
      new Option(
        '--anchors <mode>',
        'try every candidate root (all) or only the preferred one (first); add include-untrusted (e.g. all,include-untrusted) to also upload CAs in no trust store, for a private PKI',
      )
        .argParser(anchorsOption)
        .default('all'),
    )
    .option('--label <text>', 'a name for this run in reports')
    .option('--rig <name>', 'the machine this run is made on, kept with the run (default: the host name)', rigName)
    .option('--db <path>', 'SQLite database', DEFAULT_DB)
    .option('--resume <run-id>', 'finish an interrupted run; redoes nothing recorded')
    .option(
      '--resolve <host:port:addr>',
      'address for host:port without DNS, also for emu: devices (repeatable)',
      collect,
      [],
    )
    .option(
      '--connect-to <host:port:addr:port2>',
      'connect to addr:port2 for host:port (the name stays), also for emu: devices (repeatable)',
      collect,
      [],
    )
    .option('--trust-store <file>', "PEM bundle added to Node's Mozilla roots (repeatable)", collect, [])
    .option('--trust-store-only', 'use only the --trust-store bundles', false)
    .option('--aia-allow-private', 'let AIA URLs reach loopback and private addresses', false)
    .option('--concurrency <n>', 'targets resolved at once', intInRange(1, 1024), 32)
    .option('--timeout-ms <n>', 'per-target resolution time limit in milliseconds', intInRange(100, 600_000), 10_000)
    .option(
      '--device-timeout-ms <n>',
      'time a module may take for one HTTPS request before its link is presumed dead',
      intInRange(500, 600_000),
      60_000,
    )
    .option('--force', 'with --resume: accept a hosts file that changed since the run began', false)
    .option('--json', 'print the run as JSON', false)
    .option('--report <dir>', 'when the run ends (also early), write its report to this directory', nonEmptyPath)
    .option('--report-format <list>', 'formats for --report', wordList(REPORT_FORMATS), [...DEFAULT_REPORT_FORMATS])
    .option('--fail-on <what>', 'with --report: exit 1 when regression, unsafe or any-fail holds', oneOf(FAIL_ON))
    .option(
      '--device-budget-minutes <n>',
      'device time each device may spend; the rest is recorded as not run (budget)',
      intInRange(0, 7 * 24 * 60),
    )
    .option(
      '--spec <file>',
      'a run spec (JSON or YAML): hosts, devices, database, report; flags given here override it',
    )
    .option(
      '--dry-run',
      'check the spec and the inputs, print what would run, and exit (no device, no database)',
      false,
    )
    .action(async (o: RunOptions, cmd: Command) => {
      const { runCommand } = await import('./commands/run.js')
      await runCommand({ ...o, given: givenOptions(cmd) }, io, clock)
    })

  program
    .command('report')
    .description('the firmware comparison from the database: matrix, why, anchors, diff, chain changes, expiry')
    .usage(REPORT_USAGE)
    .option('--db <path>', 'SQLite database', DEFAULT_DB)
    .option(
      '--run <run-id>',
      "only this run (repeatable); default: each cell's latest verdict across all runs",
      collect,
      [],
    )
    .option('--baseline <sel>', 'MODULE@FIRMWARE or run:RUN_ID to compare from')
    .option('--candidate <sel>', 'MODULE@FIRMWARE or run:RUN_ID to compare to')
    .option(
      '--format <list>',
      'html, md, csv, json, junit (the default), pem, docs, summary (comma-separated; pem: the CA bundles to provision, one per firmware; docs: a page to publish; summary: lines for a pull request)',
      wordList(REPORT_FORMATS),
      [...DEFAULT_REPORT_FORMATS],
    )
    .option(
      '--out <dir>',
      'directory for index.html, matrix.md, attempts.csv, report.json, junit.xml (compatibility.md, summary.txt)',
      nonEmptyPath,
      'reports',
    )
    .option('--fail-on <what>', 'exit 1 when: regression, unsafe, any-fail, or never', oneOf(FAIL_ON), 'never')
    .option('--expiry-days <n>', 'forecast certificates expiring within N days', intInRange(0, 36_500), 90)
    .option(
      '--tags <list>',
      'only targets with one of these tags (comma-separated)',
      (v: string, prev: string[] = []) => [
        ...prev,
        ...v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ],
      [],
    )
    .option('--title <text>', 'title of the report')
    .action(async (o: ReportOptions) => {
      const { reportCommand } = await import('./commands/report.js')
      await reportCommand(o, io, clock)
    })

  program
    .command('merge')
    .description('copy the runs of other databases (other rigs) into one history; merging again adds nothing')
    .usage(MERGE_USAGE)
    .argument('<source...>', 'tlsmatrix databases to copy from (only read, also while a run writes to them)')
    .requiredOption('--into <path>', 'the history database (created if missing)')
    .option('--json', 'print what each source added as JSON', false)
    .action(async (sources: string[], o: MergeOptions) => {
      const { mergeCommand } = await import('./commands/merge.js')
      await mergeCommand(sources, o, io, clock)
    })

  program
    .command('lab')
    .description('serve a lab of TLS hosts on loopback, one chain feature varied at a time, until Ctrl-C')
    .requiredOption('--spec <file>', 'lab spec, e.g. data/lab/basic.json')
    .option('--cache-dir <dir>', 'where generated keys and certificates are kept')
    .option('--out <dir>', 'where hosts.txt and trust.pem are written')
    .addOption(new Option('--ephemeral', 'ignore fixed ports in the spec').default(false))
    .option(
      '--ports <file>',
      'keep the ports from start to start: take those recorded in FILE again, record new ones (target ids stay the same)',
    )
    .option(
      '--rotate <host=n>',
      "serve rotation n of a host's chain (its spec's rotations; 0 is its own chain) (repeatable)",
      collect,
      [],
    )
    .action(
      async (o: {
        spec: string
        cacheDir?: string
        out?: string
        ephemeral: boolean
        ports?: string
        rotate: string[]
      }) => {
        const { labCommand } = await import('./commands/lab.js')
        await labCommand(o, io, clock)
      },
    )

  program
    .command('emulate')
    .description(
      'run an emulated module (SPWF04SA, SPWF01SA or ESP-AT, as its profile says) on a pseudo-terminal or TCP port; prints the URL first',
    )
    .requiredOption('--firmware <id|file>', 'firmware profile id (data/firmware) or JSON file')
    .option('--pty', 'serve on a new pseudo-terminal', false)
    .option('--listen <url>', 'serve on tcp://HOST:PORT (port 0 picks one), like ser2net')
    .option('--resolve <host:port:addr>', 'address for host:port, without DNS (repeatable)', collect, [])
    .option(
      '--connect-to <host:port:addr:port2>',
      'connect to addr:port2 when asked for host:port; the name stays host:port (repeatable)',
      collect,
      [],
    )
    .option('--baud <n>', 'line speed used for pacing', intInRange(300, 4_000_000), 115200)
    .option('--clock <iso>', 'module clock at power-on (default 2000-01-01T00:00:00Z)')
    .option('--no-wifi', "boot without a network: requests fail as the module's do without Wi-Fi (SPWF04SA: ERROR:44)")
    .option('--faults <spec>', 'seeded faults per command: drop=P,corrupt=P,stall=P,reboot=P,wind=P,stallMs=N')
    .option('--seed <n>', 'fault seed', intInRange(0, 2 ** 31), 1)
    .option('--log', 'log each decision to stderr', false)
    .option('--profiles <dir>', 'directory of user firmware profiles (repeatable)', collect, [])
    .option('--request-timeout-ms <n>', 'how long the module waits for a server', intInRange(100, 600_000), 15_000)
    .option('--no-dns', 'names missing from --resolve/--connect-to fail as DNS errors (offline labs)')
    .option('--stats <file>', 'on exit, write bytes, requests and network time to this JSON file (benchmarks)')
    .option(
      '--allow-remote',
      'let --listen use a non-loopback address (whoever connects makes real HTTPS requests through this machine)',
      false,
    )
    .option('--exit-with-stdin', 'exit when standard input closes (set by the process that starts it)', false)
    .action(async (o: EmulateOptions) => {
      const { emulateCommand } = await import('./commands/emulate.js')
      await emulateCommand(o, io, clock, io.stdinClosed ?? null)
    })

  program
    .command('probe')
    .description('identify one module; with --ca and --target, upload the CA and do one HTTPS GET')
    .requiredOption('--device <url>', '/dev/ttyUSB0[?baud=115200&rtscts=1], tcp://HOST:PORT or emu:<profile>')
    .option('--ca <file>', 'CA certificate to upload (PEM or DER)')
    .option('--target <host[:port][/path]>', 'what to GET over HTTPS')
    .option('--resolve <host:port:addr>', 'address for host:port, for emu: devices (repeatable)', collect, [])
    .option(
      '--connect-to <host:port:addr:port2>',
      'addr:port2 for host:port, for emu: devices (repeatable)',
      collect,
      [],
    )
    .option('--profiles <dir>', 'directory of user firmware profiles (repeatable)', collect, [])
    .option('--json', 'JSON output, with the transcript', false)
    .action(async (o: ProbeOptions) => {
      const { probeCommand } = await import('./commands/probe.js')
      await probeCommand(o, io, clock)
    })

  program
    .command('doctor')
    .description(
      'check a bench step by step (port, line speed, module, console, clock, Wi-Fi, DNS, CA store), each with its fix',
    )
    .usage(DOCTOR_USAGE)
    .requiredOption('--device <url>', '/dev/ttyUSB0[?baud=115200&rtscts=1], tcp://HOST:PORT or emu:<profile>')
    .option('--probe-host <name>', 'a name the module looks up to check DNS (default: none, nothing leaves the bench)')
    .option('--profiles <dir>', 'directory of user firmware profiles (repeatable)', collect, [])
    .option('--json', 'JSON output: { device, url, ready, module, steps }', false)
    .action(async (o: DoctorOptions) => {
      const { doctorCommand } = await import('./commands/doctor.js')
      await doctorCommand(o, io, clock)
    })

  program
    .command('learn')
    .description('measure a firmware profile from the module itself, against a probe lab made on the fly')
    .usage(LEARN_USAGE)
    .requiredOption('--device <url>', '/dev/ttyUSB0[?baud=115200&rtscts=1], tcp://HOST:PORT or emu:<profile>')
    .option('--out <file>', 'where the learned profile is written (default: <module>-<firmware>-learned.json here)')
    .option('--db <path>', 'SQLite database (each probe is an attempt of a learn run)', DEFAULT_DB)
    .option('--resume <run-id>', 'continue an interrupted learn run: its probes are not asked again')
    .option(
      '--budget-minutes <n>',
      'device time to spend (minutes, e.g. 20 or 0.5); what is not measured by then stays unknown (a partial profile)',
      positiveNumber(7 * 24 * 60),
    )
    .option(
      '--from <profile>',
      'the profile to compare with and take unmeasured values from (default: the closest shipped one)',
    )
    .option('--profiles <dir>', 'directory of user firmware profiles (repeatable)', collect, [])
    .option(
      '--lab-host <name>',
      "the name the module is asked for; on a real bench it must resolve to this machine on the module's network",
      'probe.tlsmatrix.test',
    )
    .option(
      '--lab-listen <addr>',
      "the address the probe lab listens on (this machine's address on the module's network for a real module)",
      '127.0.0.1',
    )
    .option('--json', 'JSON output: the fields, how each was obtained, and the cost', false)
    .action(async (o: LearnOptions) => {
      const { learnCommand } = await import('./commands/learn.js')
      await learnCommand(o, io, clock)
    })

  program
    .command('demo')
    .description('the built-in default: the field report reproduced offline (lab, four emulated modules, survey)')
    .option(
      '--device-budget-minutes <n>',
      'device time each device may spend; the rest is recorded as not run (budget)',
      intInRange(0, 7 * 24 * 60),
    )
    .option('--spec <file>', 'lab spec')
    .option('--db <path>', 'SQLite database', DEFAULT_DB)
    .option('--json', 'JSON output', false)
    .option('--report <dir>', 'where index.html and matrix.md are written', nonEmptyPath, 'reports')
    .action(async (o: { spec?: string; db: string; json: boolean; report: string }) => {
      const { demoCommand } = await import('./commands/demo.js')
      await demoCommand(o, io, clock)
    })

  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    return exitCodeFor(err, io)
  }
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
