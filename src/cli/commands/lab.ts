import type { Clock } from '../../core/clock.js'
import { AppError } from '../../core/errors.js'
import { serveLab, type LabJobOptions } from '../../jobs/lab.js'
import type { Io } from '../io.js'
import { forwardAll } from '../option-table.js'
import { refuseOldSpecFlag } from '../options.js'
import { labBanner, resolveArgs } from '../output/lab-text.js'

/** `tlsmatrix lab`'s options, one field per flag (see cli/run.ts). */
export interface LabOptions {
  /** Required (checked here, so that the old --spec is refused with its new name first). */
  labSpec?: string
  /** The old name of --lab-spec: refused, naming the new one. */
  spec?: string
  cacheDir?: string
  out?: string
  ephemeral: boolean
  /** A file of the ports the lab listens on, kept from start to start (`--ports FILE`). */
  ports?: string
  /** `HOST=N` entries: serve rotation N of HOST's chain from the start. */
  rotate: string[]
}

/** `tlsmatrix lab`: serve until Ctrl-C, then close every listener. */
export async function labCommand(opts: LabOptions, io: Io, clock: Clock): Promise<void> {
  const { spec, labSpec, ...lab } = opts
  refuseOldSpecFlag('lab', spec)
  if (labSpec === undefined) throw new AppError('USAGE', 'lab needs --lab-spec FILE (e.g. data/lab/basic.json)')
  await serveLab(forwardAll<LabJobOptions>()({ ...lab, labSpec }), io, clock, (running) =>
    io.stdout.write(
      `${labBanner(running)}\n\nresolve it with:\n  tlsmatrix resolve --hosts ${running.hostsFile} --trust-store ${running.trustStoreFile} --aia-allow-private ${resolveArgs(running)}\n\nCtrl-C stops the lab.\n`,
    ),
  )
  io.stderr.write('lab stopped\n')
}
