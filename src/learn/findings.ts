import type { LearnMethod } from '../profile/index.js'
import type { FieldPath } from './fields.js'
import type { ErrorClass } from './error-lines.js'

export interface Found {
  value: unknown
  method: LearnMethod
  attempts: number[]
  note?: string
}

/** What the probes found so far: filled stage by stage, turned into a profile at the end. */
export class Findings {
  readonly values = new Map<FieldPath, Found>()
  /** Why a field has no value, when a stage could say (else: not reached). */
  readonly why = new Map<FieldPath, string>()
  /** Per failure class, the module's lines from each probe made to cause it. */
  readonly errorLines = new Map<ErrorClass, Array<{ lines: string[]; attempt: number }>>()
  readonly facts: Record<string, unknown> = {}
  readonly notes: string[] = []

  set(path: FieldPath, value: unknown, method: LearnMethod, attempts: Array<number | null>, note?: string): void {
    this.values.set(path, {
      value,
      method,
      attempts: attempts.filter((a): a is number => a !== null),
      ...(note ? { note } : {}),
    })
    this.why.delete(path)
  }

  unknown(path: FieldPath, why: string): void {
    if (!this.values.has(path)) this.why.set(path, why)
  }

  lines(cls: ErrorClass, lines: string[], attempt: number | null): void {
    if (lines.length === 0 || attempt === null) return
    const list = this.errorLines.get(cls) ?? []
    list.push({ lines, attempt })
    this.errorLines.set(cls, list)
  }
}
