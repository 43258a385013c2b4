import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

/** The package root, whether running from src/ (tsx) or dist/ (built). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function dataPath(...parts: string[]): string {
  return join(PACKAGE_ROOT, 'data', ...parts)
}
