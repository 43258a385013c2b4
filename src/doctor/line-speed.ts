import { FAMILIES } from '../families/index.js'
import type { Transport } from '../device/transport/transport.js'

export type AtAnswer = 'answered' | 'garbage' | 'silent'

/** A final line of any registered family: at the wrong speed none arrives, whatever else does. */
const finalLine = (): RegExp => new RegExp(`(^|\r\n)(${FAMILIES.map((f) => f.rawFinal).join('|')})\r\n`)

/**
 * Sends `AT` on a freshly opened line and waits for a final line. A CR first ends whatever the
 * module gathered at a wrong speed (it answers ERROR to that, which also proves the speed). `AT` ends
 * with CR LF as the open's first `AT` does: ESP-AT reads a command up to the LF. Bounded:
 * a live module answers at once; only a wrong speed or a dead port waits the whole time.
 */
export async function askAt(transport: Transport, timeoutMs: number): Promise<AtAnswer> {
  const FINAL = finalLine()
  let got = Buffer.alloc(0)
  let done: (a: AtAnswer) => void = () => {}
  const answer = new Promise<AtAnswer>((resolve) => {
    done = resolve
  })
  transport.onData((chunk) => {
    got = Buffer.concat([got, chunk]).subarray(-4096)
    if (FINAL.test(got.toString('latin1'))) done('answered')
  })
  transport.onClose(() => done(got.length > 0 ? 'garbage' : 'silent'))
  const timer = setTimeout(() => done(got.length > 0 ? 'garbage' : 'silent'), timeoutMs)
  try {
    await transport.write(Buffer.from('\rAT\r\n'))
    return await answer
  } finally {
    clearTimeout(timer)
  }
}

/** The URL that opens the same port at `baud`, other options kept. */
export function urlWithBaud(url: string, baud: number): string {
  const [path = '', query = ''] = url.split('?', 2)
  const params = new URLSearchParams(query)
  params.set('baud', String(baud))
  return `${path}?${params.toString()}`
}
