import { FAILURE_CLASSES, type FailureClass, type FirmwareProfile } from './profile.js'

/** `{n}` in a profile line stands for a number; everything else is literal. */
export function linePattern(template: string): RegExp {
  const parts = template.split('{n}').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('(\\d+)')}$`)
}

/** Fills `{n}` placeholders in order (the emulator printing a class's lines). */
export function fillLine(template: string, ...numbers: number[]): string {
  let i = 0
  return template.replace(/\{n\}/g, () => String(numbers[i++] ?? numbers[numbers.length - 1] ?? 0))
}

/**
 * Derives the failure class from what the module printed, through the profile's error table:
 * the class whose every line appears (in order) wins, and the one with more lines beats a
 * shorter one it contains (Certificate Error:22 + Http Client Error:2 is key-unsupported, not
 * just handshake). Returns null when no entry matches.
 */
export function classifyLines(lines: readonly string[], errors: FirmwareProfile['errors']): FailureClass | null {
  let best: { cls: FailureClass; size: number } | null = null
  for (const cls of FAILURE_CLASSES) {
    const entry = errors[cls]
    if (!entry) continue
    let from = 0
    let matched = true
    for (const template of entry) {
      const re = linePattern(template)
      const at = lines.findIndex((l, i) => i >= from && re.test(l))
      if (at < 0) {
        matched = false
        break
      }
      from = at + 1
    }
    if (matched && (!best || entry.length > best.size)) best = { cls, size: entry.length }
  }
  return best?.cls ?? null
}
