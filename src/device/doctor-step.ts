/** One line of the doctor's report: what was looked at, what it found, and the fix in one line. */
export type StepId = 'port' | 'lock' | 'baud' | 'module' | 'console' | 'clock' | 'wifi' | 'dns' | 'ca'
/** unknown: the step was asked, and the module's answer could not tell (never reported as ok or fail). */
export type StepStatus = 'ok' | 'fail' | 'unknown' | 'skipped'

export interface Step {
  step: StepId
  status: StepStatus
  detail: string
  /** What to do about a failure (or a warning on a passed step), one line; null when nothing. */
  fix: string | null
}

export const ok = (step: StepId, detail: string, fix: string | null = null): Step => ({
  step,
  status: 'ok',
  detail,
  fix,
})
export const fail = (step: StepId, detail: string, fix: string | null): Step => ({ step, status: 'fail', detail, fix })
export const skipped = (step: StepId, detail: string): Step => ({ step, status: 'skipped', detail, fix: null })
export const unknown = (step: StepId, detail: string, note: string | null): Step => ({
  step,
  status: 'unknown',
  detail,
  fix: note,
})

/** A value the module would not give: the command asked and the module's own answer, quoted by the step. */
export interface Unread {
  command: string
  said: string
}

export function isUnread(x: unknown): x is Unread {
  return typeof x === 'object' && x !== null && 'said' in x && 'command' in x
}

/** `AT+S.STS=ip_ipaddr answered "ERROR: Command not found"`. */
export function unreadText(u: Unread): string {
  return `${u.command} answered ${JSON.stringify(u.said)}`
}

export const STEP_TITLES: Readonly<Record<StepId, string>> = {
  port: 'port',
  lock: 'not in use',
  baud: 'line speed',
  module: 'module',
  console: 'echo and errors',
  clock: 'clock',
  wifi: 'Wi-Fi',
  dns: 'DNS',
  ca: 'CA store',
}

/** The rates a module's console is commonly set to (`console_speed`), most likely first after the factory one. */
export const COMMON_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const
