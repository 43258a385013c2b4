import { join } from 'node:path'
import { parseCertificate, type ParsedCert } from '../../src/chain/index.js'
import { dataPath } from '../../src/core/paths.js'
import { loadProfile } from '../../src/families/index.js'
import type { FirmwareProfile } from '../../src/profile/profile.js'
import { readLabSpec } from '../../src/lab/index.js'
import { loadOrCreatePki } from '../../src/lab/cache.js'
import { labCacheDir } from '../helpers/lab-keys.js'

export interface LabCerts {
  cert(name: string): ParsedCert
  profiles: Record<'spwf04sa-1.0.0' | 'spwf04sa-1.1.0' | 'spwf01sa-3.5.3', FirmwareProfile>
  /** When the certificates were issued: their validity is relative to it. */
  now: Date
}

/**
 * The basic lab's PKI (its fixture keys, no server started) plus a leaf
 * of about 3 KB and a SHA-1-signed leaf under int-rsa, and the shipped firmware profiles.
 */
export async function labCerts(): Promise<LabCerts> {
  const spec = await readLabSpec(dataPath('lab', 'basic.json'))
  spec.certificates['leaf-big'] = {
    subject: 'CN=big.basic.test',
    keyOf: 'leaf-rsa2048',
    issuer: 'int-rsa',
    sans: ['big.basic.test'],
    extraSans: 80,
  }
  spec.certificates['leaf-sha1'] = {
    subject: 'CN=sha1.basic.test',
    keyOf: 'leaf-rsa2048',
    issuer: 'int-rsa',
    sans: ['sha1.basic.test'],
    signature: 'sha1',
  }
  const now = new Date()
  // Certificates of this amended spec are not cached; its keys are the basic lab's fixture keys.
  const pki = await loadOrCreatePki(spec, join(labCacheDir(spec), spec.name), null, now, {
    cacheCertificates: false,
  })
  const parsed = new Map<string, ParsedCert>()
  const cert = (name: string) => {
    let c = parsed.get(name)
    if (!c) {
      const issued = pki.certs.get(name)
      if (!issued) throw new Error(`no lab certificate ${name}`)
      c = parseCertificate(issued.der)
      parsed.set(name, c)
    }
    return c
  }
  const profiles = {
    'spwf04sa-1.0.0': await loadProfile('spwf04sa-1.0.0'),
    'spwf04sa-1.1.0': await loadProfile('spwf04sa-1.1.0'),
    'spwf01sa-3.5.3': await loadProfile('spwf01sa-3.5.3'),
  }
  return { cert, profiles, now }
}
