export { caStep, clockStep, consoleStep, dnsStep, isLinkFault, LINK_FIX, wifiStep } from './checks.js'
export { askAt, urlWithBaud, type AtAnswer } from './line-speed.js'
export { openAt, openFailure, portPresent } from './port.js'
export {
  COMMON_RATES,
  STEP_TITLES,
  fail,
  ok,
  skipped,
  unknown,
  type Step,
  type StepId,
  type StepStatus,
} from '../device/doctor-step.js'
