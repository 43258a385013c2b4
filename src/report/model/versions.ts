/**
 * Firmware versions in release order: numeric dotted parts compare as numbers (1.10.0 after
 * 1.9.0), anything else as text. Pure.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+_]/)
  const pb = b.split(/[.\-+_]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i]
    const y = pb[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    const nx = /^\d+$/.test(x) ? Number(x) : NaN
    const ny = /^\d+$/.test(y) ? Number(y) : NaN
    const c = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny
    if (c !== 0) return c
  }
  return 0
}

/** `MODULE@FIRMWARE`: the column key and the selector syntax. */
export function columnKey(module: string, firmware: string): string {
  return `${module}@${firmware}`
}
