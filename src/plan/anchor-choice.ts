/** `--anchors`: which candidates a device tries. */
export type AnchorMode = 'all' | 'first'

export interface AnchorChoice {
  /** Every candidate, or only the preferred one. */
  mode: AnchorMode
  /**
   * Also upload CAs no trust store vouches for (a private PKI's root the server sends): off by
   * default, because such a root makes the module accept what the user's trust does not.
   */
  includeUntrusted: boolean
}

export const ANCHOR_WORDS = ['all', 'first', 'include-untrusted'] as const

/**
 * Reads `all`, `first`, `include-untrusted` or a comma list of them (`first,include-untrusted`);
 * `include-untrusted` alone means every candidate. Returns a reason instead for anything else.
 */
export function parseAnchorChoice(text: string): AnchorChoice | { problem: string } {
  const words = text.split(',').map((w) => w.trim())
  const unknown = words.filter((w) => !(ANCHOR_WORDS as readonly string[]).includes(w))
  if (unknown.length > 0 || words.length === 0)
    return { problem: `expected all, first or include-untrusted (comma-separated), got "${text}"` }
  if (words.includes('all') && words.includes('first')) return { problem: 'all and first exclude each other' }
  return { mode: words.includes('first') ? 'first' : 'all', includeUntrusted: words.includes('include-untrusted') }
}

/** The canonical spelling, kept with a run so --resume reads it back. */
export function anchorChoiceText(c: AnchorChoice): string {
  return c.includeUntrusted ? `${c.mode},include-untrusted` : c.mode
}
