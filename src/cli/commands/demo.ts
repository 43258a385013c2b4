import type { Clock } from '../../core/clock.js'
import { dataPath } from '../../core/paths.js'
import type { Io } from '../io.js'
import { labBanner, openLab } from './lab.js'
import { DEFAULT_DB } from './resolve.js'
import { runCommand } from './run.js'

export interface DemoOptions {
  spec?: string
  db?: string
  json?: boolean
  /** Where the report goes (index.html, matrix.md). */
  report?: string
}

/** The modules the field report compares, as emulators, and an ESP-AT module beside them. */
export const DEMO_DEVICES = ['spwf04sa-1.0.0', 'spwf04sa-1.1.0', 'spwf01sa-3.5.3', 'esp-at-3.3-esp32c3']

/**
 * The built-in default (`npm start`): the field report, reproduced offline. A lab answers for the
 * report's five sites on loopback, four emulated modules run the survey with every candidate
 * root, and the matrix is printed. Everything started here is stopped here, also on Ctrl-C.
 */
export async function demoCommand(opts: DemoOptions, io: Io, clock: Clock): Promise<void> {
  // Free ports (nothing machine-wide), and certificates that do not depend on them: every demo
  // serves the cached certificates, so a second demo on the same database reports no chain change.
  const lab = await openLab(
    { spec: opts.spec ?? dataPath('lab', 'field-report.json'), ephemeral: true, stableCertificates: true },
    io,
    clock,
  )
  try {
    io.stderr.write(`${labBanner(lab)}\n\n`)
    await runCommand(
      {
        hosts: lab.hostsFile,
        device: DEMO_DEVICES.map((p) => `emu:${p}?no-dns`),
        profiles: [],
        anchors: 'all',
        label: 'field-report demo',
        db: opts.db ?? DEFAULT_DB,
        resolve: lab.resolveEntries,
        // The lab's hosts keep their real names and ports (www.ebay.com:443): target ids are the
        // same from demo to demo, so history accumulates in the database.
        connectTo: lab.connectToEntries,
        trustStore: [lab.trustStoreFile],
        trustStoreOnly: true,
        aiaAllowPrivate: true,
        concurrency: 32,
        timeoutMs: 5000,
        deviceTimeoutMs: 30_000,
        json: opts.json ?? false,
        stoppedHint: 'its lab stops with it, so start the demo again (npm start) rather than resuming',
        report: opts.report ?? 'reports',
        reportFormat: ['html', 'md'],
        reportDiff: { baseline: 'SPWF04SA@1.0.0', candidate: 'SPWF04SA@1.1.0' },
      },
      io,
      clock,
    )
  } finally {
    await lab.close()
  }
}
