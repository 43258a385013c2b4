import type { Transport } from '../../src/device/transport/transport.js'

/**
 * A byte pipe whose far end answers each written command from a script, delivering the answer
 * in the chunks `split` chooses. For tests of the parser itself; device behaviour is tested
 * against the emulator (in process, or as a process end to end).
 */
export function scriptedTransport(
  answer: (written: string) => Buffer | null,
  split: (b: Buffer) => Buffer[] = (b) => [b],
) {
  let onData: (b: Buffer) => void = () => {}
  let onClose: (e?: Error) => void = () => {}
  const written: string[] = []
  const t: Transport & { written: string[]; emit(b: Buffer): void; hangUp(): void } = {
    describe: 'scripted',
    written,
    write(data) {
      written.push(data.toString('latin1'))
      const reply = answer(data.toString('latin1'))
      if (reply)
        setImmediate(() => {
          for (const c of split(reply)) onData(c)
        })
      return Promise.resolve()
    },
    onData: (cb) => {
      onData = cb
    },
    onClose: (cb) => {
      onClose = cb
    },
    async close() {},
    emit: (b) => onData(b),
    hangUp: () => onClose(),
  }
  return t
}
