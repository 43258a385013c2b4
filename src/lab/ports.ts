import { readFile } from 'node:fs/promises'
import { writeFileAtomicSync } from '../core/atomic-write.js'
import { AppError } from '../core/errors.js'

/**
 * The ports a lab listened on, kept in a file (`lab --ports FILE`) so that a lab started again
 * listens on the same ones: its targets (`host:port`, for hosts the spec gives no `port`) keep
 * their ids from night to night, and a chain rotated in between shows as that target's change,
 * not as a new target.
 */
export interface KeptPorts {
  /** Listener port per host name. */
  hosts: Map<string, number>
  /** The AIA server's port (certificates name it, so keeping it keeps them). */
  aia: number | null
}

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535

/** The ports recorded in `file` for lab `lab`; none when the file does not exist yet. */
export async function readKeptPorts(file: string, lab: string): Promise<KeptPorts> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { hosts: new Map(), aia: null }
    throw new AppError('USAGE', `--ports ${file}: ${(err as Error).message}`, { cause: err })
  }
  const bad = (why: string) =>
    new AppError(
      'USAGE',
      `--ports ${file}: ${why} (a file written by tlsmatrix lab --ports; delete it to start afresh)`,
    )
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object')
  const j = raw as Record<string, unknown>
  if (typeof j.lab !== 'string') throw bad(`it names no lab ("lab" must be the lab's name, "${lab}")`)
  if (j.lab !== lab) throw bad(`it records the ports of lab ${JSON.stringify(j.lab)}, not "${lab}"`)
  if (j.aia !== undefined && j.aia !== null && !isPort(j.aia)) throw bad('"aia" must be a port (1-65535) or null')
  if (typeof j.hosts !== 'object' || j.hosts === null || Array.isArray(j.hosts)) throw bad('"hosts" must be an object')
  const hosts = new Map<string, number>()
  for (const [name, port] of Object.entries(j.hosts)) {
    if (!isPort(port)) throw bad(`hosts.${name} must be a port (1-65535)`)
    hosts.set(name, port)
  }
  return { hosts, aia: j.aia ?? null }
}

/** Records the ports (replacing the file whole: a reader sees the old one or the new one). */
export function writeKeptPorts(file: string, lab: string, ports: KeptPorts): void {
  const text = `${JSON.stringify(
    {
      lab,
      note: 'ports of a tlsmatrix lab, kept from start to start (tlsmatrix lab --ports); delete this file to take new ones',
      aia: ports.aia,
      hosts: Object.fromEntries(ports.hosts),
    },
    null,
    2,
  )}\n`
  try {
    writeFileAtomicSync(file, text)
  } catch (err) {
    throw new AppError('USAGE', `--ports ${file}: cannot write it: ${(err as Error).message}`, { cause: err })
  }
}
