import { termSafe } from '../core/sanitize.js'
import type { SurveyObserver } from '../pipeline/index.js'
import type { Io } from './io.js'
import { displayName } from '../chain/display-name.js'

interface DeviceLine {
  done: number
  total: number
  /** More items may still be planned (resolution goes on): the total is shown as `N+`. */
  planning: boolean
  target: string
  anchor: string
  started: number
  status: string
}

/**
 * Survey progress: on a terminal, one bar per device (target, anchor, done/total, ETA) redrawn in
 * place; elsewhere (CI logs, cron mail) one plain line per attempt. `done` counts the device's
 * items recorded (a verdict, a finding, or left undone), each once; `total` its items planned so
 * far, written `N+` while resolution may still plan more.
 */
export function surveyProgress(
  io: Io,
  now: () => number = () => performance.now(),
): SurveyObserver & { phase(text: string): void; end(): void } {
  const tty = io.stderr.isTTY === true
  const devices = new Map<string, DeviceLine>()
  let drawn = 0
  let lastDraw = 0
  const width = () => Math.max(40, (io.stderr.columns ?? 100) - 1)
  const clear = () => {
    if (drawn > 0) io.stderr.write(`\x1b[${drawn}A\r\x1b[J`)
    drawn = 0
  }
  const draw = (force = false) => {
    if (!tty || (!force && now() - lastDraw < 100)) return
    lastDraw = now()
    clear()
    for (const [label, d] of devices) {
      const frac = d.total ? d.done / d.total : 0
      const bar = `${'#'.repeat(Math.round(frac * 20))}${'.'.repeat(20 - Math.round(frac * 20))}`
      const elapsed = now() - d.started
      const eta = d.done > 0 && d.done < d.total ? ` ETA ${fmt((elapsed / d.done) * (d.total - d.done))}` : ''
      io.stderr.write(
        `${termSafe(`${label} [${bar}] ${d.done}/${d.total}${d.planning ? '+' : ''}${eta} ${d.status || `${d.target} ${d.anchor}`}`).slice(0, width())}\n`,
      )
      drawn++
    }
  }
  const line = (text: string) => {
    if (tty) clear()
    io.stderr.write(`${termSafe(text)}\n`)
    draw(true)
  }
  const get = (label: string) => {
    let d = devices.get(label)
    if (!d)
      devices.set(
        label,
        (d = { done: 0, total: 0, planning: false, target: '', anchor: '', started: now(), status: 'opening' }),
      )
    return d
  }
  return {
    phase: line,
    onDevice(label, event, detail) {
      const d = get(label)
      if (event === 'upload') d.anchor = displayName(detail)
      if (event === 'done') d.status = detail
      if (event === 'start') d.status = ''
      if (event === 'lost' || event === 'reset') line(`[${label}] ${event}: ${detail}`)
      else if (!tty && event !== 'upload') io.stderr.write(`[${termSafe(label)}] ${event} ${termSafe(detail)}\n`)
      draw(true)
    },
    onAttempt(label, done, total, item, a, planning = false) {
      const d = get(label)
      d.done = done
      d.total = total
      d.planning = planning
      d.target = item.target
      const verdict = attemptWords(a)
      if (tty) draw()
      else
        io.stderr.write(
          `[${termSafe(label)}] ${done}/${total}${planning ? '+' : ''} ${termSafe(item.target)} ${termSafe(item.anchor ? displayName(item.anchor.subject) : '-')}: ${verdict}\n`,
        )
    },
    end() {
      if (tty) draw(true)
    },
  }
}

/** A verdict, a not-run with its reason, or a link fault that is retried; never "null". */
export function attemptWords(a: {
  final: boolean
  outcome: string
  class: string | null
  reason: { reason: string } | null
}): string {
  if (a.final)
    return `${a.outcome}${a.class ? ` ${a.class}` : ''}${a.outcome === 'not-run' && a.reason ? ` (${a.reason.reason})` : ''}`
  // Work left undone (the device was lost, the run stopped): it is done on --resume.
  if (a.outcome === 'not-run')
    return `not run (${a.reason?.reason === 'device-lost' ? 'device lost' : (a.reason?.reason ?? 'not done')})`
  return `${a.class ?? 'link'} (retrying)`
}

function fmt(ms: number): string {
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}
