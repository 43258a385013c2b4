/**
 * Certificate fields and server data are attacker-controlled: a subject can carry ANSI escapes
 * that rewrite the terminal. Everything printed to a terminal goes through this.
 */
export function termSafe(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
