/**
 * The emulator process writes its own failures (bugs, never module behaviour) to stderr as lines
 * starting with this; the emu: transport keeps them as transcript notes, so a survey's evidence
 * says why a command went unanswered. Diagnostics only: nothing decides a verdict from them.
 */
export const EMULATOR_ERROR_PREFIX = 'emulator error: '

export function emulatorErrorLine(msg: string): string {
  return `${EMULATOR_ERROR_PREFIX}${msg.replace(/[\r\n]+/g, ' ')}\n`
}
