import { toPem } from '../../../chain/index.js'
import type { FirmwareProfile } from '../../profile/profile.js'
import { pkiPartition, PKI_TYPE } from './pki-partition.js'
import { espExtras } from './profile.js'

/**
 * The bytes a CA takes in the module's store, compared with `store.maxCaBytes`: its PEM in a
 * SYSMFG value, or the whole AtPKI image (header and padding included) in the SYSFLASH partition.
 */
export function caUploadBytes(der: Buffer, profile: FirmwareProfile): Buffer {
  const pem = Buffer.from(toPem(der))
  return espExtras(profile).caStore === 'sysmfg' ? pem : pkiPartition([{ type: PKI_TYPE.ca, id: 0, content: pem }])
}

/** Lines only ESP-AT prints, for recognising the family on the wire (AT+GMR's first line, the boot banner). */
export function isEspLine(line: string): boolean {
  return /^AT version:\d+\.\d+\.\d+\.\d+/.test(line) || line === 'ready' || line === 'busy p...' || /^ERR CODE:0x[0-9a-f]{8}$/.test(line)
}
