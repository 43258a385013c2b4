import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createFileOnceSync, writeFileAtomicSync } from '../core/atomic-write.js'
import { generateKey, issueCertificate, keyOwners, type IssuedCert, type KeyMaterial } from './pki.js'
import type { LabSpec } from './spec.js'

export interface LabPki {
  certs: Map<string, IssuedCert>
  keys: Map<string, KeyMaterial>
  /** True when this call generated certificates rather than reading them. */
  generated: boolean
}

/** Certificates are re-issued after this long so relative validity windows stay meaningful. */
const MAX_AGE_MS = 30 * 86_400_000

/**
 * Keys are the slow part (RSA-4096), so they are cached by name and type; certificates are cached
 * by a hash of the spec and the AIA base URL and rebuilt when either changes or they get old.
 */
export async function loadOrCreatePki(
  spec: LabSpec,
  cacheDir: string,
  aiaBase: string | null,
  now: Date,
  opts: { cacheCertificates?: boolean } = {},
): Promise<LabPki> {
  const cacheCertificates = opts.cacheCertificates ?? true
  await mkdir(join(cacheDir, 'keys'), { recursive: true })
  const owners = keyOwners(spec)
  const keys = new Map<string, KeyMaterial>()
  const needed = new Map([...owners.values()].map((o) => [o.keyName, o.keySpec]))
  await Promise.all(
    [...needed].map(async ([keyName, keySpec]) => {
      const file = join(cacheDir, 'keys', `${keyName}.${keySpec}.json`)
      const read = async () => {
        const j = JSON.parse(await readFile(file, 'utf8')) as { pkcs8: string; spki: string }
        return { spec: keySpec, pkcs8: Buffer.from(j.pkcs8, 'base64'), spki: Buffer.from(j.spki, 'base64') }
      }
      try {
        keys.set(keyName, await read())
      } catch {
        const k = await generateKey(keySpec)
        // Another process may have generated the same key meanwhile: the first one written is the
        // key, so every process's certificates match the key files they will read later.
        keys.set(
          keyName,
          createFileOnceSync(
            file,
            JSON.stringify({ pkcs8: k.pkcs8.toString('base64'), spki: k.spki.toString('base64') }),
            { mode: 0o600 },
          )
            ? k
            : await read(),
        )
      }
    }),
  )
  const hash = createHash('sha256')
    .update(JSON.stringify(spec))
    .update(aiaBase ?? '')
    .digest('hex')
    .slice(0, 16)
  const certFile = join(cacheDir, `certs-${hash}.json`)
  const cached = async (): Promise<Map<string, IssuedCert> | null> => {
    const j = JSON.parse(await readFile(certFile, 'utf8')) as {
      generatedAt: string
      certs: Record<string, { der: string; keyName: string }>
    }
    if (now.getTime() - Date.parse(j.generatedAt) >= MAX_AGE_MS) return null
    const certs = new Map(
      Object.entries(j.certs).map(([name, c]) => [
        name,
        { name, der: Buffer.from(c.der, 'base64'), keyName: c.keyName },
      ]),
    )
    return Object.keys(spec.certificates).every((n) => certs.has(n)) ? certs : null
  }
  let missing = false
  if (cacheCertificates) {
    try {
      const certs = await cached()
      if (certs) return { certs, keys, generated: false }
    } catch (err) {
      missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
      // Otherwise no usable cache: generate below.
    }
  }
  const certs = new Map<string, IssuedCert>()
  for (const name of Object.keys(spec.certificates)) {
    certs.set(name, await issueCertificate(name, { spec, keys, owners, now, aiaBase }))
  }
  const out: Record<string, { der: string; keyName: string }> = {}
  for (const [name, c] of certs) out[name] = { der: c.der.toString('base64'), keyName: c.keyName }
  const text = JSON.stringify({ generatedAt: now.toISOString(), certs: out })
  if (cacheCertificates) {
    // A first generation raced by another process: the first one written is the lab's, so two labs
    // started at once serve the same certificates (a history sees no chain change between them).
    // Readers see the old file or the new one, never half of one; writers never share a temp file.
    if (missing && !createFileOnceSync(certFile, text, { mode: 0o600 })) {
      const theirs = await cached().catch(() => null)
      if (theirs) return { certs: theirs, keys, generated: false }
    } else if (!missing) writeFileAtomicSync(certFile, text, { mode: 0o600 })
  }
  return { certs, keys, generated: true }
}
