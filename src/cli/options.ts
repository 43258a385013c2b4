import { InvalidArgumentError } from 'commander'
import { AppError } from '../core/errors.js'
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

/** A positive decimal such as 0.5 (minutes), at most `max`. */
export function positiveNumber(max: number) {
  return (value: string): number => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value))
      throw new InvalidArgumentError(`expected a number such as 30 or 0.5, got "${value}"`)
    const n = Number(value)
    if (!(n > 0) || n > max) throw new InvalidArgumentError(`must be more than 0 and at most ${max}`)
    return n
  }
}

/** A path that must not be empty: `--out ""` would otherwise mean the current directory. */
export function nonEmptyPath(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a directory, got an empty string')
  return value
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

/** A comma list of words from a fixed set (`--format html,md`), in the order given, without repeats. */
export function wordList<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const words = value
      .split(',')
      .map((w) => w.trim().toLowerCase())
      .filter(Boolean)
    const unknown = words.filter((w) => !(allowed as readonly string[]).includes(w))
    if (words.length === 0 || unknown.length > 0)
      throw new InvalidArgumentError(`expected ${allowed.join(', ')} (comma-separated), got "${value}"`)
    return [...new Set(words)] as T[]
  }
}

/** One word of a fixed set. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}, got "${value}"`)
    return value as T
  }
}

/** `--rig NAME`: shown in reports and compared across merged databases, so one visible line of text. */
export function rigName(value: string): string {
  const v = value.trim()
  if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(v))
    throw new InvalidArgumentError(`expected 1 to 64 printable ASCII characters, got ${JSON.stringify(value)}`)
  return v
}

/**
 * `--spec` is a run spec (`tlsmatrix run --spec`); `lab` and `demo` once took a lab spec under
 * that name. The old name is refused, naming the new one, so an old script fails loudly rather
 * than meaning something else.
 */
export function refuseOldSpecFlag(command: string, spec: string | undefined): void {
  if (spec !== undefined)
    throw new AppError(
      'USAGE',
      `${command} --spec: the lab spec is given as --lab-spec FILE now (--spec is the run spec of tlsmatrix run)`,
    )
}
