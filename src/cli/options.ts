import { InvalidArgumentError } from 'commander'
import { anchorChoiceText, parseAnchorChoice } from '../plan/anchor-choice.js'

/** Commander argument parsers: reject bad values with the option's own words. */
export function intInRange(min: number, max: number) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`)
    const n = Number(value)
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`)
    return n
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** `--anchors all|first[,include-untrusted]`, kept in its canonical spelling. */
export function anchorsOption(value: string): string {
  const c = parseAnchorChoice(value)
  if ('problem' in c) throw new InvalidArgumentError(c.problem)
  return anchorChoiceText(c)
}
