import { termSafe } from '../../core/sanitize.js'
import type { RunningLab } from '../../lab/index.js'

export function labBanner(lab: RunningLab): string {
  const lines = [
    `lab "${lab.spec.name}": ${lab.hosts.length} hosts on 127.0.0.1${lab.aiaBase ? `, AIA at ${lab.aiaBase}` : ''}`,
  ]
  for (const h of lab.hosts) {
    const via = h.port === h.listenPort ? '' : ` (on ${h.address}:${h.listenPort})`
    const rotation = lab.rotation(h.name) === 0 ? '' : ` [rotation ${lab.rotation(h.name)}]`
    lines.push(`  ${termSafe(`${h.name}:${h.port}`).padEnd(36)} ${termSafe(h.description ?? '')}${via}${rotation}`)
  }
  lines.push(`hosts file:  ${lab.hostsFile}`, `trust store: ${lab.trustStoreFile}`)
  if (lab.portsFile) lines.push(`ports kept:  ${lab.portsFile}`)
  return lines.join('\n')
}

/** The lab's mappings as command-line options: --resolve, then --connect-to. */
export function resolveArgs(lab: RunningLab): string {
  return [
    ...lab.resolveEntries.map((e) => `--resolve ${e}`),
    ...lab.connectToEntries.map((e) => `--connect-to ${e}`),
  ].join(' ')
}
