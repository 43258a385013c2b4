import { toPem } from '../../chain/index.js'
import { PKI_PARTITION_BYTES } from './pki-partition.js'

/**
 * Bytes a CA takes in the module's store as `store.maxCaBytes` counts them: its PEM, whether it
 * goes in a SYSMFG value or as an AtPKI item (a function of the DER's length only).
 */
export function caUploadBytes(der: Uint8Array): number {
  return Buffer.byteLength(toPem(der))
}

/** The largest PEM an AtPKI image of one item fits in the 8 KB partition: 8-byte header, 4-byte item head, 4-byte padding. */
export const SYSFLASH_MAX_PEM = PKI_PARTITION_BYTES - 12

/** Lines only ESP-AT prints, for recognising the family on the wire (AT+GMR's first line, the boot banner). */
export function isEspLine(line: string): boolean {
  return (
    /^AT version:\d+\.\d+\.\d+\.\d+/.test(line) ||
    line === 'ready' ||
    line === 'busy p...' ||
    /^ERR CODE:0x[0-9a-f]{8}$/.test(line)
  )
}
