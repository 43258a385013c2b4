import type { Clock } from '../core/clock.js'
import { dataPath } from '../core/paths.js'
import type { RunningLab } from '../lab/index.js'
import type { JobIo } from './io.js'
import { openLab } from './lab.js'
import { surveyJob, type SurveyJobResult, type SurveyWatch } from './run.js'

export interface DemoJobOptions {
  /** The lab spec to serve (default: the field report's). */
  labSpec?: string | undefined
  db: string
  /** Where the report goes (index.html, matrix.md). */
  report: string
  /** Device time each emulated module may spend; the rest is recorded as not run (`budget`). */
  deviceBudgetMinutes?: number | undefined
}

/** The modules the field report compares, as emulators, and an ESP-AT module beside them. */
export const DEMO_DEVICES = ['spwf04sa-1.0.0', 'spwf04sa-1.1.0', 'spwf01sa-3.5.3', 'esp-at-3.3-esp32c3']

export interface DemoWatch extends SurveyWatch {
  /** The lab is up, before the survey starts. */
  onLab(lab: RunningLab): void
}

/**
 * The demo job (`npm start`): the field report, reproduced offline. A lab answers for the
 * report's five sites on loopback, four emulated modules run the survey with every candidate
 * root. Everything started here is stopped here, also on Ctrl-C.
 */
export async function demoJob(
  opts: DemoJobOptions,
  io: JobIo,
  clock: Clock,
  watch: DemoWatch,
): Promise<SurveyJobResult> {
  // Free ports (nothing machine-wide), and certificates that do not depend on them: every demo
  // serves the cached certificates, so a second demo on the same database reports no chain change.
  const lab = await openLab(
    { labSpec: opts.labSpec ?? dataPath('lab', 'field-report.json'), ephemeral: true, stableCertificates: true },
    io,
    clock,
  )
  try {
    watch.onLab(lab)
    return await surveyJob(
      {
        hosts: lab.hostsFile,
        device: DEMO_DEVICES.map((p) => `emu:${p}?no-dns`),
        profiles: [],
        anchors: 'all',
        label: 'field-report demo',
        db: opts.db,
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
        deviceBudgetMinutes: opts.deviceBudgetMinutes,
        report: opts.report,
        reportFormat: ['html', 'md'],
        reportDiff: { baseline: 'SPWF04SA@1.0.0', candidate: 'SPWF04SA@1.1.0' },
      },
      io,
      clock,
      watch,
    )
  } finally {
    await lab.close()
  }
}
