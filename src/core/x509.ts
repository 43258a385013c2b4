// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first; importing x509 through this module guarantees the order.
import 'reflect-metadata'
export * as x509 from '@peculiar/x509'
