import type { Framing } from '../../device/at/channel.js'

/** SPWF01SA: `OK` / `ERROR:<text>`; `+WIND:<n>:` indications as on the SPWF04SA, `+WIND:1`/`+WIND:2` a restart. */
export const SPWF01_FRAMING: Framing = {
  isOk: (l) => l === 'OK',
  isError: (l) => /^ERROR(?::|$)/.test(l),
  isWind: (l) => /^\+WIND:\d+:/.test(l),
  // +WIND:1 (Poweron) and +WIND:2 (Reset): the module restarted, so no command in flight will finish.
  isReboot: (l) => /^\+WIND:(1|2):/.test(l),
}
