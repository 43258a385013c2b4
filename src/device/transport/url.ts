import { parseFaults } from './emu-faults.js'
import { DeviceError } from '../errors.js'

export type DeviceUrl =
  | { kind: 'serial'; path: string; baudRate: number; rtscts: boolean }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'emu'; profile: string; params: URLSearchParams }

/**
 * `/dev/ttyUSB0?baud=115200&rtscts=1`, `tcp://host:port`, or `emu:<profile-id|profile.json>[?faults=…&seed=…]`.
 */
export function parseDeviceUrl(url: string): DeviceUrl {
  if (url.startsWith('emu:')) {
    const [profile = '', query = ''] = url.slice(4).split('?', 2)
    if (!profile) throw new DeviceError('TRANSPORT_INVALID', `"${url}": emu: needs a firmware profile id or file`)
    const params = new URLSearchParams(query)
    for (const [key, value] of params) {
      const why = emuParamProblem(key, value)
      if (why) throw new DeviceError('TRANSPORT_INVALID', `"${url}": ${why}`)
    }
    return { kind: 'emu', profile, params }
  }
  if (url.startsWith('tcp://')) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new DeviceError('TRANSPORT_INVALID', `"${url}" is not a tcp://host:port URL`)
    }
    const port = Number(u.port)
    if (!u.hostname || !port) throw new DeviceError('TRANSPORT_INVALID', `"${url}": tcp:// needs host and port`)
    return { kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port }
  }
  // Only the forms README documents: a `serial://` or `file:` spelling is refused, not guessed at.
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^COM\d+/i.test(url))
    throw new DeviceError(
      'TRANSPORT_INVALID',
      `"${url}": expected a serial device path (/dev/ttyUSB0), tcp://host:port or emu:<profile>`,
    )
  const [path = '', query = ''] = url.split('?', 2)
  if (!path.startsWith('/') && !/^COM\d+$/i.test(path))
    throw new DeviceError(
      'TRANSPORT_INVALID',
      `"${url}": expected a serial device path (/dev/ttyUSB0), tcp://host:port or emu:<profile>`,
    )
  const params = new URLSearchParams(query)
  for (const key of params.keys())
    if (key !== 'baud' && key !== 'rtscts')
      throw new DeviceError('TRANSPORT_INVALID', `"${url}": unknown option "${key}" (baud, rtscts)`)
  const baudRate = Number(params.get('baud') ?? 115200)
  if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 4_000_000)
    throw new DeviceError('TRANSPORT_INVALID', `"${url}": baud must be 300-4000000`)
  const rtscts = params.get('rtscts') === '1' || params.get('rtscts') === 'true'
  return { kind: 'serial', path, baudRate, rtscts }
}

const EMU_FLAGS = ['no-wifi', 'no-dns']
// No option names a file: a device URL comes from specs, CI configs and shared command lines, and
// a path in it would let any of them write wherever the runner can (the emulator's statistics
// for benchmarks go to TLSMATRIX_EMU_STATS_DIR instead, see transport/emu.ts).
const EMU_OPTIONS = ['faults', 'seed', 'clock', 'baud', 'request-timeout-ms']

/** The emulator would refuse these at start; saying so here makes it a usage error, found before any work. */
function emuParamProblem(key: string, value: string): string | null {
  if (EMU_FLAGS.includes(key)) return value === '' ? null : `emu: option "${key}" takes no value`
  if (!EMU_OPTIONS.includes(key)) return `emu: unknown option "${key}" (${[...EMU_OPTIONS, ...EMU_FLAGS].join(', ')})`
  const whole = (min: number, max: number) =>
    /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max
      ? null
      : `emu: ${key} must be a whole number ${min}-${max}`
  switch (key) {
    case 'seed':
      return whole(0, 2 ** 31)
    case 'baud':
      return whole(300, 4_000_000)
    case 'request-timeout-ms':
      return whole(100, 600_000)
    case 'clock':
      return Number.isNaN(new Date(value).getTime()) ? `emu: clock "${value}" is not an ISO-8601 date` : null
    case 'faults':
      try {
        parseFaults(value)
        return null
      } catch (err) {
        return `emu: ${(err as Error).message}`
      }
    default:
      return value === '' ? `emu: ${key} needs a value` : null
  }
}
