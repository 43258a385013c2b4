import type { Clock } from '../../core/clock.js'
import { demoJob, type DemoJobOptions } from '../../jobs/demo.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { refuseOldSpecFlag } from '../options.js'
import { labBanner } from '../output/lab-text.js'
import { endSurvey, surveyWatch } from '../output/survey-text.js'

/** `tlsmatrix demo`'s options, one field per flag (see cli/run.ts). */
export interface DemoOptions {
  deviceBudgetMinutes?: number
  labSpec?: string
  /** The old name of --lab-spec: refused, naming the new one. */
  spec?: string
  db: string
  json: boolean
  /** Where the report goes (index.html, matrix.md). */
  report: string
}

/**
 * The built-in default (`npm start`): the field report, reproduced offline (src/jobs/demo.ts),
 * printed as `run` prints a survey. Its lab stops with it, so a run it left unfinished is started
 * again rather than resumed.
 */
export async function demoCommand(opts: DemoOptions, io: Io, clock: Clock): Promise<void> {
  const { json, spec, ...demo } = opts
  refuseOldSpecFlag('demo', spec)
  const voice = { json, stoppedHint: 'its lab stops with it, so start the demo again (npm start) rather than resuming' }
  const result = await demoJob(forwardAll<DemoJobOptions>()(demo), io, clock, {
    ...surveyWatch(io, voice),
    onLab: (lab) => io.stderr.write(`${labBanner(lab)}\n\n`),
  })
  endSurvey(result, io, voice)
}
