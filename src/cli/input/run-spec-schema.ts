import { z } from 'zod'
import { FAIL_ON, REPORT_FORMATS } from '../../store/report-words.js'

// The run spec's one declaration (its type comes from it), apart from reading the file and the
// command line's flags over it (./run-spec.ts): it depends on nothing above the store, so a layer
// below the CLI that takes a spec can take this file as it is.

const selector = z
  .string()
  .regex(
    /^(previous-run|this-run|run:\S+|[^@\s]+@[^@\s]+)$/,
    'expected previous-run, this-run, run:RUN_ID or MODULE@FIRMWARE',
  )

/**
 * A run spec: everything a scheduled job needs, so a cron line or CI step stays one short command.
 * Strict: an unknown key is a mistake (a typo would silently change a nightly job).
 */
export const RunSpecSchema = z.strictObject({
  hosts: z.string().min(1),
  devices: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({
          url: z.string().min(1),
          label: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{1,40}$/)
            .optional(),
        }),
      ]),
    )
    .min(1),
  profiles: z.array(z.string().min(1)).optional(),
  anchors: z.string().optional(),
  label: z.string().max(200).optional(),
  rig: z
    .string()
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/, 'expected 1 to 64 printable ASCII characters (as --rig)')
    .optional(),
  db: z.string().min(1).optional(),
  trustStore: z.array(z.string().min(1)).optional(),
  trustStoreOnly: z.boolean().optional(),
  aiaAllowPrivate: z.boolean().optional(),
  resolve: z.array(z.string()).optional(),
  connectTo: z.array(z.string()).optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  deviceTimeoutMs: z.number().int().min(500).max(600_000).optional(),
  /** Device time each device may spend on attempts; the rest is recorded as not run (`budget`). */
  deviceBudgetMinutes: z
    .number()
    .min(0)
    .max(7 * 24 * 60)
    .optional(),
  /** Delete runs older than `days` after each run; the latest complete run of each firmware is kept forever. */
  retention: z.strictObject({ days: z.number().int().min(1).max(36_500) }).optional(),
  report: z
    .strictObject({
      dir: z.string().min(1),
      formats: z.array(z.enum(REPORT_FORMATS)).min(1).optional(),
      failOn: z.enum(FAIL_ON).optional(),
      baseline: selector.optional(),
      candidate: selector.optional(),
      expiryDays: z.number().int().min(0).max(36_500).optional(),
    })
    .optional(),
})

export type RunSpec = z.infer<typeof RunSpecSchema>
