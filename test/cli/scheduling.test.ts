import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { run } from '../../src/cli/run.js'
import { testIo } from '../helpers/io.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const EXAMPLES = join(ROOT, 'examples')

/** Shell words of a simple command line (single and double quotes, no expansions). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
}

/**
 * Runs the tlsmatrix part of a scheduled command as a dry run from the checkout, with an
 * emulated module in place of the bench's /dev/ttyUSB0: the flags must be ones `run` accepts.
 */
async function dryRun(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo({ inProcess: true, cwd: ROOT })
  const code = await run([...args, '--device', 'emu:spwf04sa-1.1.0', '--dry-run'], io)
  return { code, out: io.out(), err: io.err() }
}

function tlsmatrixArgs(command: string): string[] {
  const w = words(command)
  const at = w.indexOf('tlsmatrix')
  assert.ok(at >= 0, command)
  const end = w.findIndex((x, i) => i > at && /^(>>?|2>&1|\||&&|;)$/.test(x))
  return w.slice(at + 1, end < 0 ? undefined : end)
}

test('the crontab line takes a lock (flock -n: two nights never overlap) and calls run with flags it accepts', async () => {
  const line = readFileSync(join(EXAMPLES, 'crontab'), 'utf8')
    .split('\n')
    .find((l) => l.trim() && !l.startsWith('#'))!
  const w = words(line)
  assert.equal(w.slice(0, 5).length, 5)
  assert.ok(
    w.slice(0, 5).every((f) => /^[\d*/,-]+$/.test(f)),
    'five schedule fields',
  )
  assert.ok(w.includes('flock') && w[w.indexOf('flock') + 1] === '-n', 'flock -n')
  const r = await dryRun(tlsmatrixArgs(line))
  assert.equal(r.code, 0, r.err)
  assert.match(r.out, /"failOn": "regression"/)
})

test('the systemd service and timer: verified by systemd-analyze when the machine has it, and the service runs a command run accepts', async (t) => {
  const service = readFileSync(join(EXAMPLES, 'systemd', 'tlsmatrix-nightly.service'), 'utf8')
  const timer = readFileSync(join(EXAMPLES, 'systemd', 'tlsmatrix-nightly.timer'), 'utf8')
  assert.match(timer, /^Persistent=true$/m)
  assert.match(timer, /^OnCalendar=/m)
  const exec = /^ExecStart=(.*)$/m.exec(service)![1]!
  const r = await dryRun(tlsmatrixArgs(exec))
  assert.equal(r.code, 0, r.err)
  if (!existsSync('/usr/bin/systemd-analyze')) {
    t.diagnostic('systemd-analyze is not on this machine: the units were not verified by it')
    return
  }
  // verify checks that ExecStart's program exists: point it at this machine's npx.
  const npx = execFileSync('sh', ['-c', 'command -v npx'], { encoding: 'utf8' }).trim()
  const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-systemd-'))
  writeFileSync(join(dir, 'tlsmatrix-nightly.service'), service.replace('/usr/bin/npx', npx))
  writeFileSync(join(dir, 'tlsmatrix-nightly.timer'), timer)
  const out = execFileSync(
    'systemd-analyze',
    ['verify', join(dir, 'tlsmatrix-nightly.service'), join(dir, 'tlsmatrix-nightly.timer')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  )
  assert.equal(out.trim(), '')
})

test('the GitHub Actions workflow: nightly schedule and a workflow_dispatch release gate, report artifact and JUnit, each tlsmatrix step a valid dry run', async () => {
  const wf = parseYaml(readFileSync(join(EXAMPLES, 'github', 'tlsmatrix.yml'), 'utf8')) as {
    on: { schedule: Array<{ cron: string }>; workflow_dispatch: unknown }
    jobs: Record<
      string,
      { 'runs-on': string[]; steps: Array<{ run?: string; uses?: string; with?: Record<string, string>; if?: string }> }
    >
  }
  assert.ok(wf.on.schedule[0]!.cron)
  assert.ok(wf.on.workflow_dispatch)
  const job = Object.values(wf.jobs)[0]!
  assert.ok(job['runs-on'].includes('self-hosted'))
  const steps = job.steps
  const calls = steps.filter((s) => s.run?.includes('tlsmatrix'))
  assert.equal(calls.length, 2)
  for (const s of calls) {
    // Expressions are filled by Actions; a runner name stands in for them.
    const r = await dryRun(tlsmatrixArgs(s.run!.replace(/\$\{\{[^}]*\}\}/g, 'ci-runner-1')))
    assert.equal(r.code, 0, `${s.run}: ${r.err}`)
  }
  assert.ok(calls.some((s) => s.if?.includes('workflow_dispatch') && s.run!.includes('--fail-on regression')))
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!
  assert.equal(upload.with!.path, 'reports/')
  assert.equal(upload.if, 'always()')
  assert.ok(steps.some((s) => s.uses && /junit/i.test(s.uses) && /junit\.xml/.test(s.with?.report_paths ?? '')))
})

test("the examples keep working from the first night: the cron log's folder is made before the shell appends to it; the workflow keeps the history between nights and declares no input it ignores", () => {
  const line = readFileSync(join(EXAMPLES, 'crontab'), 'utf8')
    .split('\n')
    .find((l) => l.trim() && !l.startsWith('#'))!
  const log = /\s>>\s*(\S+)/.exec(line)?.[1]
  if (log?.includes('/')) {
    const folder = log.slice(0, log.lastIndexOf('/'))
    const mk = line.indexOf(`mkdir -p ${folder}`)
    assert.ok(mk >= 0 && mk < line.indexOf('>>'), `${folder}/ is made before ${log} is appended to: ${line}`)
  }
  const text = readFileSync(join(EXAMPLES, 'github', 'tlsmatrix.yml'), 'utf8')
  const wf = parseYaml(text) as {
    on: { workflow_dispatch: { inputs?: Record<string, unknown> } | null }
    jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>
  }
  // checkout cleans untracked files by default: the nightly database would go with them.
  const checkout = Object.values(wf.jobs)[0]!.steps.find((s) => s.uses?.startsWith('actions/checkout'))!
  assert.equal(checkout.with?.clean, false)
  for (const name of Object.keys(wf.on.workflow_dispatch?.inputs ?? {})) {
    assert.ok(text.includes(`inputs.${name}`), `input ${name} is used`)
  }
})
