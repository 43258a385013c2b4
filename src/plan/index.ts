export { planDevice, candidatesFor, uploadSize, skipReason, NOT_RUN_REASONS } from './plan.js'
export type { AnchorMode, DevicePlan, NotRun, NotRunReason, PlanItem, PlannedAnchor, TargetObservations } from './plan.js'
