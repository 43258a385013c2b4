import { DeviceError } from '../device/errors.js'
import type { ModuleFamily } from './family.js'
import { espAtFamily } from './esp-at/index.js'
import { spwf01Family } from './spwf01/index.js'
import { spwf04Family } from './spwf04/index.js'

export type { FamilyDoctor, ModuleFamily } from './family.js'

// Order matters: open.ts asks families in this order which one answered `AT`.
const registry: ModuleFamily[] = [spwf04Family, spwf01Family, espAtFamily]

/** The registered families, in recognition order. */
export const FAMILIES: readonly ModuleFamily[] = registry

export function findFamily(dialect: string): ModuleFamily | undefined {
  return registry.find((f) => f.dialect === dialect)
}

export function familyOf(dialect: string): ModuleFamily {
  const f = findFamily(dialect)
  if (!f)
    throw new DeviceError(
      'PROFILE_INVALID',
      `dialect "${dialect}" is not a registered module family (${registry.map((x) => x.dialect).join(', ')})`,
    )
  return f
}

export function familyForModule(module: string): ModuleFamily | undefined {
  return registry.find((f) => f.modules.includes(module))
}

/**
 * Adds a family at run time (tests, plug-ins); returns the function that removes it again. A
 * dialect or module name already registered is refused: recognition would be ambiguous.
 */
export function registerFamily(family: ModuleFamily): () => void {
  if (findFamily(family.dialect)) throw new Error(`module family ${family.dialect} is already registered`)
  const taken = family.modules.filter((m) => familyForModule(m))
  if (taken.length > 0) throw new Error(`module ${taken.join(', ')} already belongs to a registered family`)
  registry.push(family)
  return () => {
    const i = registry.indexOf(family)
    if (i >= 0) registry.splice(i, 1)
  }
}
