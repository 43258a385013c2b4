import { run } from '../../src/cli/run.js'

// The CLI as src/cli/main.ts runs it (the first SIGINT asks the command to stop, and nothing forces
// the process out: it ends when nothing is left running), with the stop grace given by the first
// argument, so that a test of what happens after Ctrl-C need not wait the real grace out.
const [grace = '', ...argv] = process.argv.slice(2)
let interrupt = () => {}
const interrupted = new Promise<void>((resolve) => {
  interrupt = resolve
})
process.once('SIGINT', () => interrupt())
process.exitCode = await run(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  interrupted,
  stopGraceMs: Number(grace),
})
