export { openModule, openTransport, pickProfile } from './open.js'
export type { OpenedModule, OpenModuleOptions } from './open.js'
export type { Attempt, CaUpload, HttpsRequest, Identity, ModuleDriver } from './drivers/driver.js'
export { DeviceError, isDeviceError } from './errors.js'
export type { DeviceErrorCode } from './errors.js'
export {
  loadProfile,
  loadAllProfiles,
  checkProfileDirs,
  validateProfile,
  BUILTIN_PROFILE_DIR,
} from '../profile/load.js'
export {
  classifyLines,
  classifyResponse,
  damage,
  fillLine,
  linePattern,
  MAX_TEMPLATE_CHARS,
  templateProblem,
} from '../profile/classify.js'
export type { LineMatcher } from '../profile/classify.js'
export type { Classification } from '../profile/classify.js'
export { FAILURE_CLASSES, helloOf } from '../profile/profile.js'
export type {
  FailureClass,
  FirmwareProfile,
  Dialect,
  LearnedField,
  LearnedInfo,
  LearnMethod,
} from '../profile/profile.js'
export type { TranscriptEntry } from './at/transcript.js'
export { parseDeviceUrl } from './transport/url.js'
export { checkDeviceUrl } from './transport/check-url.js'
export { lockDevice, lockDir, LOCK_DIR_ENV } from './lock.js'
export { DEFAULT_TIMEOUTS } from './drivers/common.js'
export type { DriverTimeouts } from './drivers/common.js'
export { recoverModule, watchedRequest, ModuleLost, ModuleStopped } from './recover.js'
export type { RecoverOptions } from './recover.js'
export { FAMILIES, familyOf, familyForModule, findFamily, registerFamily } from '../families/index.js'
export type { FamilyDoctor, ModuleFamily } from '../families/index.js'
