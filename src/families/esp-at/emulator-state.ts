import { PKI_PARTITION_BYTES } from './pki-partition.js'

/** What an ESP-AT module keeps in flash across resets (reference §2). */
export interface EspFlash {
  /** `mfg_nvs`: namespace → key → value with its SYSMFG type (7 string, 8 binary, 1-6 integers). */
  mfg: Map<string, Map<string, { type: number; data: Buffer }>>
  /** Raw user partitions (SYSFLASH), erased = 0xFF. */
  partitions: Map<string, Buffer>
  /** CIPSSLCCONF (saved in NVS, reference §2.3); null until set: auth mode 0, no verification. */
  sslConf: { auth: number; pki: number; ca: number } | null
}

/** v2.x user partitions as `AT+SYSFLASH?` lists them (reference §2.2: ESP32 addresses). */
export const PARTITIONS: ReadonlyArray<{ name: string; type: number; subtype: number; addr: number; size: number }> = [
  { name: 'client_ca', type: 64, subtype: 7, addr: 0x2e000, size: PKI_PARTITION_BYTES },
  { name: 'client_cert', type: 64, subtype: 5, addr: 0x2a000, size: PKI_PARTITION_BYTES },
  { name: 'client_key', type: 64, subtype: 6, addr: 0x2c000, size: PKI_PARTITION_BYTES },
]

export function freshEspFlash(): EspFlash {
  return {
    mfg: new Map(),
    partitions: new Map(PARTITIONS.map((p) => [p.name, Buffer.alloc(p.size, 0xff)])),
    sslConf: null,
  }
}
