import type { Framing } from '../../device/at/channel.js'
import type { InlineData } from '../../device/at/line-reader.js'

/** `ready` is printed once after power-up and after every AT+RST/RESTORE (reference §1 Boot). */
export const isEspReboot = (line: string): boolean => line === 'ready'

/**
 * Active messages the module prints at any point, also in the middle of a response (reference §1
 * URCs). `CONNECT` is not one here: it is part of CIPSTART's answer, which the verdict is read from.
 */
const URC =
  /^(?:ready|WIFI (?:CONNECTED|GOT IP|GOT IPv6 [LG]L|DISCONNECT)|(?:\d,)?CLOSED|\+TIME_UPDATED|\+IPD,.*|\+LINK_CONN:.*|\+QUITT|NO (?:CA|CERT|PRVT_KEY) FOUND|Will force to restart!!!)$/

/** Longest `+IPD,<id>,<len>,"<ip>",<port>:` announcement (CIPDINFO=1 with an IPv6 address). */
const MAX_IPD_HEAD = 63

/** `+IPD,[<id>,]<len>[,"<ip>",<port>]:` then exactly <len> bytes, no CR LF after them (reference §1). */
export const ipdData: InlineData = (head) => {
  const m = /^\+IPD,(?:\d,)?(\d{1,5})(?:,"[^"\r\n]{0,45}",\d{1,5})?:/.exec(head)
  if (m) return { consumed: m[0].length, header: m[0].slice(0, -1), length: Number(m[1]) }
  if (head.length < MAX_IPD_HEAD && ('+IPD,'.startsWith(head) || /^\+IPD,[^\r\n:]*$/.test(head))) return 'more'
  return null
}

/**
 * ESP-AT: `\r\n`-wrapped result codes; `SEND OK`/`SEND FAIL` end CIPSEND; `busy p...` ends a
 * command the module would not take (input while another ran). `ERR CODE:`/`+ERRNO:` lines come
 * before `ERROR` and stay informational lines of the response.
 */
export const ESP_FRAMING: Framing = {
  isOk: (l) => l === 'OK' || l === 'SEND OK',
  isError: (l) => l === 'ERROR' || l === 'SEND FAIL' || l === 'busy p...',
  isWind: (l) => URC.test(l),
  commandEnd: '\r\n',
  isReboot: isEspReboot,
  inlineData: ipdData,
}
