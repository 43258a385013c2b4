import { createRequire } from 'node:module'
import type * as X509Module from '@peculiar/x509'

type X509 = typeof X509Module
let lib: X509 | null = null

/**
 * @peculiar/x509, loaded on first use and synchronously (certificate parsing is synchronous):
 * most runs never need it, and loading it costs a third of a second of start-up. It resolves
 * its algorithm providers through tsyringe, which needs the Reflect metadata polyfill first.
 */
export function x509Lib(): X509 {
  if (!lib) {
    const require = createRequire(import.meta.url)
    require('reflect-metadata')
    lib = require('@peculiar/x509') as X509
  }
  return lib
}
