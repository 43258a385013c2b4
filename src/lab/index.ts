export { startLab, readLabSpec } from './lab.js'
export type { RunningLab, LabHost, StartLabOptions } from './lab.js'
export { validateLabSpec } from './spec.js'
export type { LabSpec, CertSpec, HostSpec, RotationSpec, ServerSpec } from './spec.js'
