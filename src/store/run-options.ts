import { z } from 'zod'
import { FAIL_ON, REPORT_FORMATS } from './report-words.js'

const text = z.string()
const texts = z.array(text)

/** A target as a run keeps it from its start (options `targets`), to name later changes of the hosts file. */
const STORED_TARGET = z.looseObject({ id: text, path: text, expect: z.enum(['pass', 'fail']).nullable() })
export type StoredTarget = z.output<typeof STORED_TARGET>

/**
 * runs.options of a survey: the options it was started with, so that --resume runs the same survey
 * and ends it the same way (report, gate, retention). Every field may be absent (a run from before
 * it existed: --resume then takes the command's default), and a field a newer tlsmatrix adds passes.
 */
export const SURVEY_OPTIONS = z.looseObject({
  hosts: text.optional(),
  /** The targets as the hosts file listed them when the run began (null: a run from before). */
  targets: z.array(STORED_TARGET).nullish(),
  device: texts.optional(),
  profiles: texts.optional(),
  anchors: text.optional(),
  label: text.optional(),
  resolve: texts.optional(),
  connectTo: texts.optional(),
  trustStore: texts.optional(),
  trustStoreOnly: z.boolean().optional(),
  aiaAllowPrivate: z.boolean().optional(),
  concurrency: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  deviceTimeoutMs: z.number().int().positive().optional(),
  deviceBudgetMinutes: z.number().nonnegative().optional(),
  report: text.optional(),
  reportFormat: z.array(z.enum(REPORT_FORMATS)).optional(),
  failOn: z.enum(FAIL_ON).optional(),
  reportDiff: z.looseObject({ baseline: text, candidate: text }).optional(),
  reportExpiryDays: z.number().int().nonnegative().optional(),
  retentionDays: z.number().int().positive().optional(),
})
export type SurveyRunOptions = z.output<typeof SURVEY_OPTIONS>

/** runs.options of a learn run: what a resumed learn takes from it, unless given again. */
export const LEARN_OPTIONS = z.looseObject({
  device: text,
  /** Where the profile is written (null: the default name). */
  out: text.nullable(),
  /** The base profile asked for with --from (null: the module's own). */
  from: text.nullable(),
  labHost: text,
  labListen: text,
  profiles: texts,
})
export type LearnRunOptions = z.output<typeof LEARN_OPTIONS>
