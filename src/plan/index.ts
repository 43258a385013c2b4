export { planDevice, candidatesFor, skipReason, untrustedDetail, NOT_RUN_REASONS } from './plan.js'
export type {
  DevicePlan,
  PlanModule,
  NotRun,
  NotRunReason,
  PlanItem,
  PlannedAnchor,
  PlannedSource,
  TargetObservations,
} from './plan.js'
export { parseAnchorChoice, anchorChoiceText, ANCHOR_WORDS } from './anchor-choice.js'
export type { AnchorChoice, AnchorMode } from './anchor-choice.js'
