import { resolve as resolvePath } from 'node:path'
import type { Clock } from '../../core/clock.js'
import { dataPath } from '../../core/paths.js'
import { readLabSpec, startLab, type RunningLab } from '../../lab/index.js'
import { AppError } from '../../core/errors.js'
import type { Io } from '../io.js'
import { termSafe } from '../../core/sanitize.js'

export interface LabOptions {
  spec: string
  cacheDir?: string
  out?: string
  ephemeral?: boolean
  /** Certificates that name the spec's AIA port wherever its server listens (see StartLabOptions). */
  stableCertificates?: boolean
  /** A file of the ports the lab listens on, kept from start to start (`--ports FILE`). */
  ports?: string
  /** `HOST=N` entries: serve rotation N of HOST's chain from the start. */
  rotate?: string[]
}

export async function openLab(opts: LabOptions, io: Io, clock: Clock): Promise<RunningLab> {
  const rotations = (opts.rotate ?? []).map(parseRotateEntry)
  const spec = await readLabSpec(resolvePath(io.cwd, opts.spec))
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

export function labBanner(lab: RunningLab): string {
  const lines = [
    `lab "${lab.spec.name}": ${lab.hosts.length} hosts on 127.0.0.1${lab.aiaBase ? `, AIA at ${lab.aiaBase}` : ''}`,
  ]
  for (const h of lab.hosts) {
    const via = h.port === h.listenPort ? '' : ` (on ${h.address}:${h.listenPort})`
    const rotation = lab.rotation(h.name) === 0 ? '' : ` [rotation ${lab.rotation(h.name)}]`
    lines.push(`  ${termSafe(`${h.name}:${h.port}`).padEnd(36)} ${termSafe(h.description ?? '')}${via}${rotation}`)
  }
  lines.push(`hosts file:  ${lab.hostsFile}`, `trust store: ${lab.trustStoreFile}`)
  if (lab.portsFile) lines.push(`ports kept:  ${lab.portsFile}`)
  return lines.join('\n')
}

/** The lab's mappings as command-line options: --resolve, then --connect-to. */
export function resolveArgs(lab: RunningLab): string {
  return [
    ...lab.resolveEntries.map((e) => `--resolve ${e}`),
    ...lab.connectToEntries.map((e) => `--connect-to ${e}`),
  ].join(' ')
}

/** `tlsmatrix lab`: serve until Ctrl-C, then close every listener. */
export async function labCommand(opts: LabOptions, io: Io, clock: Clock): Promise<void> {
  const lab = await openLab(opts, io, clock)
  io.stdout.write(
    `${labBanner(lab)}\n\nresolve it with:\n  tlsmatrix resolve --hosts ${lab.hostsFile} --trust-store ${lab.trustStoreFile} --aia-allow-private ${resolveArgs(lab)}\n\nCtrl-C stops the lab.\n`,
  )
  await io.interrupted
  await lab.close()
  io.stderr.write('lab stopped\n')
}
