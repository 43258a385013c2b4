/**
 * True when the headers are in and the body has reached its Content-Length: a driver reading a
 * response through a module's socket commands (SPWF01SA SOCKR, ESP-AT +IPD) reads until then.
 */
export function responseComplete(data: Buffer): boolean {
  const head = data.indexOf('\r\n\r\n')
  if (head < 0) return false
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(data.subarray(0, head).toString('latin1'))
  return m !== null && data.length - head - 4 >= Number(m[1])
}
