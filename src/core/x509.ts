import { createRequire } from 'node:module'
import type * as X509Module from '@peculiar/x509'

/** The @peculiar/x509 module's type, for type positions (`X509.Extension`), which load nothing. */
export type X509 = typeof X509Module
let lib: X509 | null = null

/**
 * @peculiar/x509, the one way it is loaded: on first use and synchronously (certificate parsing is
 * synchronous). Most runs never need it, and loading it costs a third of a second of start-up. It
 * resolves its algorithm providers through tsyringe, which needs the Reflect metadata polyfill
 * loaded first: this function guarantees the order.
 */
export function x509Lib(): X509 {
  if (!lib) {
    const require = createRequire(import.meta.url)
    require('reflect-metadata')
    lib = require('@peculiar/x509') as X509
  }
  return lib
}
