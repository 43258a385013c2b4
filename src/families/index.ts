import { DeviceError } from '../device/errors.js'
import {
  checkDeviceUrl as checkUrl,
  openModuleWith,
  type DeviceUrl,
  type OpenedModule,
  type OpenModuleOptions,
} from '../device/index.js'
import { profileLoader, type FirmwareProfile } from '../profile/index.js'
import type { PlanModule } from '../plan/index.js'
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

/** Profile loading that knows every registered family (a family registered later counts too). */
export const { loadProfile, loadAllProfiles, checkProfileDirs, validateProfile } = profileLoader(registry)

/**
 * Opens a module on any transport and learns which registered family it is, its identity and
 * profile (from `profileDirs`, then the built-in ones): the same path for a real module and an emulator.
 */
export async function openModule(url: string, opts: OpenModuleOptions = {}): Promise<OpenedModule> {
  const profiles = await loadAllProfiles(opts.profileDirs ?? [])
  return await openModuleWith({ families: registry, profiles }, url, opts)
}

/** A profile with its family's CA size, as the planner takes it. */
export function planModule(profile: FirmwareProfile): PlanModule {
  const family = familyOf(profile.dialect)
  return { profile, caBytes: (der) => family.caUploadBytes(der) }
}

/** A device URL checked before any work (see device's checkDeviceUrl); an `emu:` URL's profile must load. */
export function checkDeviceUrl(url: string, opts: { cwd: string; profileDirs: readonly string[] }): Promise<DeviceUrl> {
  return checkUrl(url, { ...opts, profileExists: loadProfile })
}
