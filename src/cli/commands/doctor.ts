import type { Clock } from '../../core/clock.js'
import { outcome } from '../../core/errors.js'
import { doctorJob, type DoctorJobOptions } from '../../jobs/doctor.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { doctorJson, doctorVerdict, formatStep } from '../output/doctor-text.js'

/** `tlsmatrix doctor`'s options, one field per flag (see cli/run.ts). */
export interface DoctorOptions {
  device: string
  probeHost?: string
  profiles: string[]
  json: boolean
}

/**
 * `tlsmatrix doctor`: the bench check, step by step, each with its fix (src/jobs/doctor.ts). Exit
 * 0 when the module is ready for a survey, 1 when a step failed, 3 when the device went away or
 * on Ctrl-C.
 */
export async function doctorCommand(opts: DoctorOptions, io: Io, clock: Clock): Promise<void> {
  const { json, ...doctor } = opts
  const result = await doctorJob(forwardAll<DoctorJobOptions>()(doctor), io, clock, (step) => {
    if (!json) io.stdout.write(formatStep(step))
  })
  io.stdout.write(json ? doctorJson(result) : doctorVerdict(result))
  if (!result.ready) throw outcome('FINDINGS')
}
