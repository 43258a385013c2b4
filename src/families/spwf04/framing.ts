import type { Framing } from '../../device/at/channel.js'

/** SPWF04SA: `AT-S.OK` / `AT-S.ERROR:<code>:<text>`; `+WIND:<n>:` indications, `+WIND:1`/`+WIND:2` a restart. */
export const SPWF04_FRAMING: Framing = {
  isOk: (l) => l === 'AT-S.OK',
  isError: (l) => /^AT-S\.ERROR(?::|$)/.test(l),
  isWind: (l) => /^\+WIND:\d+:/.test(l),
  // +WIND:1 (Poweron) and +WIND:2 (Reset): the module restarted, so no command in flight will finish.
  isReboot: (l) => /^\+WIND:(1|2):/.test(l),
}
