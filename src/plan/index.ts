export { planDevice, candidatesFor, uploadSize } from './plan.js'
export type { AnchorMode, DevicePlan, PlanItem, PlannedAnchor, TargetObservations } from './plan.js'
