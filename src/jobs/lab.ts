import { resolve as resolvePath } from 'node:path'
import type { Clock } from '../core/clock.js'
import { AppError } from '../core/errors.js'
import { dataPath } from '../core/paths.js'
import { termSafe } from '../core/sanitize.js'
import { readLabSpec, startLab, type RunningLab } from '../lab/index.js'
import type { JobIo } from './io.js'

export interface LabJobOptions {
  /** The lab spec file (`--lab-spec`). */
  labSpec: string
  cacheDir?: string | undefined
  out?: string | undefined
  ephemeral?: boolean | undefined
  /** Certificates that name the spec's AIA port wherever its server listens (see StartLabOptions). */
  stableCertificates?: boolean | undefined
  /** A file of the ports the lab listens on, kept from start to start (`--ports FILE`). */
  ports?: string | undefined
  /** `HOST=N` entries: serve rotation N of HOST's chain from the start. */
  rotate?: string[] | undefined
}

/** A lab started from its spec, every listener up; the caller closes it. */
export async function openLab(opts: LabJobOptions, io: JobIo, clock: Clock): Promise<RunningLab> {
  const rotations = (opts.rotate ?? []).map(parseRotateEntry)
  const spec = await readLabSpec(resolvePath(io.cwd, opts.labSpec))
  const lab = await startLab(spec, {
    cacheDir: opts.cacheDir ? resolvePath(io.cwd, opts.cacheDir) : dataPath('lab', '.cache'),
    ...(opts.out ? { outDir: resolvePath(io.cwd, opts.out) } : {}),
    now: clock.now(),
    ephemeralPorts: opts.ephemeral ?? false,
    stableCertificates: opts.stableCertificates ?? false,
    ...(opts.ports ? { portsFile: resolvePath(io.cwd, opts.ports) } : {}),
  })
  try {
    for (const r of rotations) lab.rotate(r.host, r.to)
  } catch (err) {
    await lab.close()
    throw err
  }
  return lab
}

/** `--rotate HOST=N`: the host as named in the spec, N a whole number (checked against the spec by rotate). */
export function parseRotateEntry(entry: string): { host: string; to: number } {
  const m = /^([^=\s]+)=([0-9]{1,6})$/.exec(entry)
  if (!m) throw new AppError('USAGE', `--rotate ${termSafe(entry)}: expected HOST=N, e.g. rsa2048.basic.test=1`)
  return { host: m[1]!, to: Number(m[2]) }
}

/** The lab job: serve until Ctrl-C (`onOpen` when every listener is up), then close every listener. */
export async function serveLab(
  opts: LabJobOptions,
  io: JobIo,
  clock: Clock,
  onOpen: (lab: RunningLab) => void,
): Promise<void> {
  const lab = await openLab(opts, io, clock)
  onOpen(lab)
  await io.interrupted
  await lab.close()
}
