/** Longest template a profile may hold: it bounds the matcher's work per character of a line. */
export const MAX_TEMPLATE_CHARS = 512

/**
 * Why a profile template is refused, or null: too long for the matcher's bound, or a
 * placeholder-like word that is neither `{n}` nor `{text}` (a typo would otherwise match only
 * itself, literally, and every line would be "unrecognized").
 */
export function templateProblem(template: string): string | null {
  if (template.length > MAX_TEMPLATE_CHARS)
    return `a template of ${template.length} characters; at most ${MAX_TEMPLATE_CHARS}`
  const unknown = /\{(?!n\}|text\})[A-Za-z_][A-Za-z0-9_]*\}/.exec(template)
  if (unknown) return `unknown placeholder ${unknown[0]} ({n} is a number, {text} printable text)`
  return null
}
