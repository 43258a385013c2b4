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
    return { kind: 'emu', profile, params: new URLSearchParams(query) }
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
  const [path = '', query = ''] = url.replace(/^serial:/, '').split('?', 2)
  if (!path.startsWith('/') && !/^COM\d+$/i.test(path)) throw new DeviceError('TRANSPORT_INVALID', `"${url}": expected a serial device path (/dev/ttyUSB0), tcp://host:port or emu:<profile>`)
  const params = new URLSearchParams(query)
  for (const key of params.keys()) if (key !== 'baud' && key !== 'rtscts') throw new DeviceError('TRANSPORT_INVALID', `"${url}": unknown option "${key}" (baud, rtscts)`)
  const baudRate = Number(params.get('baud') ?? 115200)
  if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 4_000_000) throw new DeviceError('TRANSPORT_INVALID', `"${url}": baud must be 300-4000000`)
  const rtscts = params.get('rtscts') === '1' || params.get('rtscts') === 'true'
  return { kind: 'serial', path, baudRate, rtscts }
}
