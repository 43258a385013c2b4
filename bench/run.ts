/**
 * npm run bench:run — 200 lab targets surveyed by 2 emulated modules at 115200 baud. Prints the
 * wall time, the lower bound (per device: the bytes that crossed its serial line at the baud rate
 * plus the time its emulator spent on the network, the slower device) and their ratio.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EmulatorStats } from '../src/emulator/serve.js'
import { startBenchLab } from './lab-process.js'

const N = Number(process.env.BENCH_TARGETS ?? 200)
const BAUD = 115200
const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'tlsmatrix-bench-run-'))
const { lab, port, names } = await startBenchLab(dir, 'bench-run', 'rsa-2048', N)
const hosts = join(dir, 'hosts.txt')
writeFileSync(hosts, names.map((n) => `${n}:${port}`).join('\n'))
// Each emulator writes its statistics on exit into a directory only this bench uses, as
// `<profile>.<random>.json` (the runner passes TLSMATRIX_EMU_STATS_DIR on; no device URL names a file).
const statsDir = mkdtempSync(join(dir, 'stats-'))
const statsFile = (profile: string) => {
  const found = readdirSync(statsDir).filter((f) => f.startsWith(`${profile}.`) && f.endsWith('.json'))
  if (found.length !== 1)
    throw new Error(`expected one statistics file for ${profile} in ${statsDir}, found ${found.length}`)
  return join(statsDir, found[0]!)
}
const devices = ['a=spwf04sa-1.1.0', 'b=spwf01sa-3.5.3'].map((d) => {
  const [label, profile] = d.split('=') as [string, string]
  return { label, profile, arg: `${label}=emu:${profile}?no-dns&baud=${BAUD}` }
})
// The survey runs as users run it: the built CLI, a whole process (its emulators start without
// the TypeScript loader this script needs), timed from spawn to exit.
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
if (!existsSync(CLI)) throw new Error('bench:run needs the built CLI: npm run build')
try {
  const t0 = performance.now()
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--hosts',
      hosts,
      ...devices.flatMap((d) => ['--device', d.arg]),
      '--db',
      join(dir, 'bench.db'),
      '--trust-store',
      lab.trustStoreFile,
      '--trust-store-only',
      '--json',
      ...names.map((n) => ['--resolve', `${n}:${port}:127.0.0.1`]).flat(),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TLSMATRIX_EMU_STATS_DIR: statsDir } },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  const wall = (performance.now() - t0) / 1000
  if (code !== 0) throw new Error(`run exited ${code}: ${stderr.slice(-2000)}`)
  // The survey's last progress line says where the wall time went (phases overlap).
  const timeline = /wall time: (.*)/.exec(stderr)?.[1] ?? ''
  console.log(`run benchmark: ${N} targets x ${devices.length} devices (2 anchors each), ${BAUD} baud`)
  let bound = 0
  for (const d of devices) {
    const s = JSON.parse(readFileSync(statsFile(d.profile), 'utf8')) as EmulatorStats
    const wire = (s.bytesIn + s.bytesOut) / (BAUD / 10)
    const device = wire + s.networkMs / 1000
    bound = Math.max(bound, device)
    console.log(
      `  device ${d.label}: ${s.commands} commands, ${s.requests} requests, ${s.bytesIn + s.bytesOut} bytes = ${wire.toFixed(2)} s on the wire, network ${(s.networkMs / 1000).toFixed(2)} s (handshakes ${(s.handshakeMs / 1000).toFixed(2)} s); bound ${device.toFixed(2)} s`,
    )
  }
  console.log(`where the time went (s from the run's start): ${timeline.split(', ').join('\n  ')}`)
  console.log(
    `wall time ${wall.toFixed(2)} s, lower bound ${bound.toFixed(2)} s, ratio ${(wall / bound).toFixed(2)} (goal <= 1.2)`,
  )
} finally {
  await lab.stop()
}
