export { BUILTIN_PROFILE_DIR, profileLoader } from './load.js'
export type { DialectRules, ProfileLoader } from './load.js'
export {
  classLines,
  classifyLines,
  classifyResponse,
  damage,
  fillLine,
  linePattern,
  templateProblem,
  MAX_TEMPLATE_CHARS,
} from './classify.js'
export type { Classification, LineMatcher } from './classify.js'
export { FAILURE_CLASSES, LEARN_METHODS, helloOf, profileBlock } from './profile.js'
export type { Dialect, FailureClass, FirmwareProfile, LearnMethod, LearnedField, LearnedInfo } from './profile.js'
export { PROFILE, PROFILE_SNAPSHOT } from './schema.js'
