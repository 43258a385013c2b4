import type { Clock } from '../../core/clock.js'
import { ExitError } from '../../core/errors.js'
import { dataPath } from '../../core/paths.js'
import { DEFAULT_DB, resolveCommand } from './resolve.js'
import { labBanner, openLab } from './lab.js'
import type { Io } from '../io.js'

export interface DemoOptions {
  spec?: string
  db?: string
  json?: boolean
}

/**
 * The built-in default (`npm start`): start the basic lab on loopback and resolve every host of
 * it, offline. The survey issue replaces this with the field-report reproduction.
 */
export async function demoCommand(opts: DemoOptions, io: Io, clock: Clock): Promise<void> {
  const lab = await openLab({ spec: opts.spec ?? dataPath('lab', 'basic.json'), ephemeral: true }, io, clock)
  try {
    io.stderr.write(`${labBanner(lab)}\n\n`)
    const hostile = new Set(lab.hosts.filter((h) => h.tags.includes('hostile')).map((h) => `${h.name}:${h.port}`))
    await resolveCommand({
      hosts: lab.hostsFile,
      db: opts.db ?? DEFAULT_DB,
      trustStore: [lab.trustStoreFile],
      trustStoreOnly: false,
      concurrency: 32,
      timeoutMs: 3000,
      resolve: lab.resolveEntries,
      aiaAllowPrivate: true,
      aia: true,
      sni: true,
      json: opts.json ?? false,
    }, io, clock).catch((err: unknown) => {
      // The lab's hostile servers are meant to fail; anything else failing is a real finding.
      if (!(err instanceof ExitError) || err.exitCode !== 1 || !err.failedTargets?.every((t) => hostile.has(t))) throw err
      io.stdout.write(`the ${err.failedTargets.length} failures are the lab's hostile servers, failing as intended\n`)
    })
  } finally {
    await lab.close()
  }
}
