/** `AT+S.NAME=a,b,c` → name in upper case (keywords are case-insensitive) and positional fields. */
export function splitArgs(cmd: string): { name: string; args: string[] | null } {
  const eq = cmd.indexOf('=')
  if (eq < 0) return { name: cmd.toUpperCase(), args: null }
  return { name: cmd.slice(0, eq).toUpperCase(), args: cmd.slice(eq + 1).split(',') }
}
