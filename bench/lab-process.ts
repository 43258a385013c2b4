import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../src/core/paths.js'

export interface LabProcess {
  child: ChildProcess
  resolveEntries: string[]
  trustStoreFile: string
  stop(): Promise<void>
}

/**
 * Runs `tlsmatrix lab` in its own process, so the servers' CPU is not counted against the
 * client being measured (and the client is measured the way users run it: over loopback).
 */
export async function spawnLab(specFile: string, outDir: string): Promise<LabProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(PACKAGE_ROOT, 'src/cli/main.ts'),
      'lab',
      '--lab-spec',
      specFile,
      '--ephemeral',
      '--out',
      outDir,
      '--cache-dir',
      join(outDir, 'cache'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Ctrl-C stops the lab')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`lab exited with ${code}: ${out}`)))
  })
  const resolveEntries = [...out.matchAll(/--resolve (\S+)/g)].map((m) => m[1]!)
  return {
    child,
    resolveEntries,
    trustStoreFile: join(outDir, 'trust.pem'),
    stop: async () => {
      child.kill('SIGINT')
      await new Promise((r) => child.once('exit', r))
    },
  }
}

export function hostsOf(outDir: string): string {
  return readFileSync(join(outDir, 'hosts.txt'), 'utf8')
}

export interface BenchLab {
  lab: LabProcess
  port: number
  /** n distinct names, all answered by one wildcard host on `port`. */
  names: string[]
}

/** One wildcard TLS host (root → intermediate → leaf) in its own process, and n names for it. */
export async function startBenchLab(
  dir: string,
  name: string,
  leafKey: 'rsa-2048' | 'ec-p256',
  n: number,
): Promise<BenchLab> {
  const specFile = join(dir, `${name}.json`)
  writeFileSync(
    specFile,
    JSON.stringify({
      name,
      certificates: {
        root: { subject: 'CN=Bench Root', key: 'rsa-2048', issuer: 'self', ca: true, trust: true },
        int: { subject: 'CN=Bench Intermediate', key: 'rsa-2048', issuer: 'root', ca: true },
        leaf: { subject: 'CN=bench.test', key: leafKey, issuer: 'int', sans: ['bench.test', '*.bench.test'] },
      },
      hosts: { 'bench.test': { certificate: 'leaf', send: ['leaf', 'int'] } },
    }),
  )
  const lab = await spawnLab(specFile, dir)
  const port = Number(lab.resolveEntries[0]!.split(':')[1])
  const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(4, '0')}.bench.test`)
  return { lab, port, names }
}
