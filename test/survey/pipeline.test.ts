import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CertCache, loadTrustStore } from '../../src/chain/index.js'
import { systemClock } from '../../src/core/clock.js'
import { parseHosts, parseResolveEntries } from '../../src/hosts/index.js'
import { startLab, validateLabSpec, type RunningLab } from '../../src/lab/index.js'
import { runSurvey, type SurveyDeps } from '../../src/pipeline/index.js'
import { ObservationStore, openDb, RunStore, type SurveyRun } from '../../src/store/index.js'
import { inProcessEmulator } from '../../src/families/in-process.js'
import { labSurveyInput, startTestLab } from '../helpers/lab.js'

/** A TLS port that accepts and says nothing until released: resolution cannot end before. */
async function heldServer(): Promise<{
  port: number
  accepted: Promise<void>
  release(): void
  close(): Promise<void>
}> {
  const sockets = new Set<Socket>()
  let onAccept = () => {}
  const accepted = new Promise<void>((r) => {
    onAccept = r
  })
  let released = false
  const server: Server = createServer((s) => {
    s.on('error', () => {})
    if (released) s.destroy()
    else {
      sockets.add(s)
      onAccept()
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    accepted,
    release: () => {
      released = true
      for (const s of sockets) s.destroy()
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

describe('the survey pipelines resolution and device work', () => {
  let lab: RunningLab
  before(async () => {
    lab = await startTestLab()
  })
  after(async () => lab.close())

  const setup = async (hostLines: string[], dbPath: string) => {
    const hostsText = hostLines.join('\n')
    const { targets } = parseHosts(hostsText, 'test')
    const cache = new CertCache()
    const store = await loadTrustStore({ files: [lab.trustStoreFile], only: true }, cache)
    const db = openDb(dbPath)
    const runs = new RunStore(db, dbPath)
    const input = labSurveyInput(lab, { targets, hostsText, store, cache, device: 'emu:spwf04sa-1.1.0?no-dns' })
    return { input, runs, db, observations: new ObservationStore(db, dbPath) }
  }
  const labLine = (name: string) => `${name}:${lab.hosts.find((h) => h.name === name)!.port}`

  test('a device works on the first resolved targets while another target is still resolving; the stored plan is complete', async () => {
    const held = await heldServer()
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-pipe-'))
    // Hosts order puts the held target last; with concurrency 1 per hello the others resolve first.
    const { input, runs, db, observations } = await setup(
      [labLine('rsa2048.basic.test'), labLine('cross.basic.test'), `127.0.0.1:${held.port}`],
      join(dir, 'run.db'),
    )
    let attemptsWhileHeld = 0
    let stillHeld = true
    const deps: SurveyDeps = {
      observations,
      runs,
      clock: systemClock,
      emulator: inProcessEmulator,
      stopping: () => false,
      observer: {
        onAttempt: (_l, _d, _t, _i, a) => {
          if (a.outcome === 'not-run') return
          if (stillHeld) attemptsWhileHeld++
          // The first verdict lets the held target go (it fails as closed): resolution can end.
          stillHeld = false
          held.release()
        },
      },
    }
    try {
      // Safety net, not a timing assertion: without pipelining no attempt can come first, so
      // the held target is let go after a while and the assertion below fails instead of hanging.
      const safety = setTimeout(() => {
        stillHeld = false
        held.release()
      }, 40_000)
      const r = await runSurvey(input, deps)
      clearTimeout(safety)
      assert.equal(r.status, 'complete')
      assert.ok(attemptsWhileHeld >= 1, 'a verdict was recorded before resolution ended')
      const plan = runs.getRun(r.runId)!.plan!
      const items = plan[0]!.groups
        .flatMap((g) => g.items.map((i) => i.target))
        .concat(plan[0]!.skipped.map((i) => i.target))
      assert.deepEqual([...new Set(items)].sort(), input.targets.map((t) => t.id).sort())
      assert.match(plan[0]!.skipped.find((i) => i.target === `127.0.0.1:${held.port}`)!.skip!.reason, /unresolved/)
      // Each anchor still uploaded once, and every planned item has its verdict.
      const finals = runs.attempts(r.runId).filter((a) => a.final)
      assert.equal(
        r.devices[0]!.uploads,
        new Set(finals.filter((a) => a.outcome !== 'not-run').map((a) => a.anchor)).size,
      )
      assert.equal(finals.length, items.length)
      assert.ok(
        r.timeline.some((s) => s.phase.startsWith('device work')) &&
          r.timeline.some((s) => s.phase.startsWith('resolve')),
      )
    } finally {
      db.close()
      await held.close()
    }
  })

  test('Ctrl-C while resolving stops before any device work; the run is interrupted, stores no plan, and --resume finishes it', async () => {
    const held = await heldServer()
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-pipe-'))
    const dbPath = join(dir, 'run.db')
    // The held target first: resolution is in flight on it when the user presses Ctrl-C.
    const { input, runs, db, observations } = await setup(
      [`127.0.0.1:${held.port}`, labLine('rsa2048.basic.test')],
      dbPath,
    )
    let stop = false
    void held.accepted.then(() => {
      stop = true
      held.release()
    })
    let first: SurveyRun
    try {
      const r = await runSurvey(input, {
        observations,
        runs,
        clock: systemClock,
        emulator: inProcessEmulator,
        stopping: () => stop,
      })
      assert.equal(r.status, 'interrupted')
      assert.deepEqual(runs.attempts(r.runId), [])
      assert.equal(r.devices[0]!.uploads, 0)
      assert.equal(r.devices[0]!.requests, 0)
      const stored = runs.getRun(r.runId)!
      assert.ok(stored.kind !== 'learn')
      first = stored
      assert.equal(first.plan, null)
      assert.equal(first.status, 'interrupted')
      const done = await runSurvey(
        { ...input, resume: first },
        { observations, runs, clock: systemClock, emulator: inProcessEmulator, stopping: () => false },
      )
      assert.equal(done.status, 'complete')
      assert.equal(runs.getRun(first.id)!.plan![0]!.groups.length > 0, true)
      assert.ok(runs.attempts(first.id).some((a) => a.final && a.outcome === 'pass'))
    } finally {
      db.close()
      await held.close()
    }
  })

  test("a chain over Node's 100 KiB limit reaches the plan with its served chain and anchors: the module is asked, not skipped as no-anchor", async () => {
    const big = await startLab(
      validateLabSpec(
        {
          name: 'over-node-survey',
          certificates: {
            root: { subject: 'CN=Over Root', key: 'ec-p256', issuer: 'self', ca: true, trust: true },
            leaf: { subject: 'CN=over.test', key: 'ec-p256', issuer: 'root', sans: ['over.test'], extraSans: 3000 },
          },
          hosts: { 'over.test': { certificate: 'leaf', send: ['leaf', 'leaf', 'root'] } },
        },
        'inline',
      ),
      { cacheDir: mkdtempSync(join(tmpdir(), 'tlsmatrix-over-')), now: new Date(), ephemeralPorts: true },
    )
    const dir = mkdtempSync(join(tmpdir(), 'tlsmatrix-pipe-'))
    const { input, runs, db, observations } = await setup([`over.test:${big.hosts[0]!.port}`], join(dir, 'run.db'))
    try {
      const r = await runSurvey(
        {
          ...input,
          store: await loadTrustStore({ files: [big.trustStoreFile], only: true }, input.cache),
          resolveEntries: big.resolveEntries,
          resolveMap: parseResolveEntries(big.resolveEntries),
        },
        { observations, runs, clock: systemClock, emulator: inProcessEmulator, stopping: () => false },
      )
      assert.equal(r.status, 'complete')
      const plan = runs.getRun(r.runId)!.plan![0]!
      assert.deepEqual(plan.skipped, [])
      assert.equal(plan.groups[0]!.anchor.subject, 'CN=Over Root')
      const finals = runs.attempts(r.runId).filter((a) => a.final)
      assert.equal(finals.length, 1)
      // The module (here the emulator, itself bound by Node's limit) judges it too large.
      assert.equal(finals[0]!.outcome, 'fail')
      assert.equal(finals[0]!.class, 'too-large')
    } finally {
      db.close()
      await big.close()
    }
  })
})
