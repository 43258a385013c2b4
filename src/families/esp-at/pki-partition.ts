import { DeviceError } from '../../device/errors.js'

/** Item types of the v2.x AtPKI partition (reference §2.2, tools/AtPKI.py). */
export const PKI_TYPE = { ca: 1, cert: 2, key: 3 } as const

export interface PkiItem {
  type: number
  id: number
  content: Buffer
}

/** The `client_ca` partition is 8 KB on v2.x (reference §2.2, #347). */
export const PKI_PARTITION_BYTES = 0x2000

const MAGIC = 0xf1f1

/**
 * The v2.x `client_ca`/`client_cert`/`client_key` partition image, little-endian: `F1 F1`, u16
 * item count, u32 length of all items; each item u8 type, u8 id, u16 content length, the content
 * (PEM as is), padded with 0xFF to a 4-byte boundary. Pure: the bytes depend on the items only.
 */
export function pkiPartition(items: readonly PkiItem[]): Buffer {
  const parts = items.map((it) => {
    if (
      !Number.isInteger(it.type) ||
      it.type < 0 ||
      it.type > 0xff ||
      !Number.isInteger(it.id) ||
      it.id < 0 ||
      it.id > 0xff
    ) {
      throw new DeviceError('CA_INVALID', `PKI item type ${it.type} / id ${it.id} does not fit a byte`)
    }
    if (it.content.length > 0xffff)
      throw new DeviceError('CA_TOO_LARGE', `PKI item of ${it.content.length} bytes does not fit a u16 length`)
    const padded = Math.ceil(it.content.length / 4) * 4
    const b = Buffer.alloc(4 + padded, 0xff)
    b.writeUInt8(it.type, 0)
    b.writeUInt8(it.id, 1)
    b.writeUInt16LE(it.content.length, 2)
    it.content.copy(b, 4)
    return b
  })
  const body = Buffer.concat(parts)
  const head = Buffer.alloc(8)
  head.writeUInt16LE(MAGIC, 0)
  head.writeUInt16LE(items.length, 2)
  head.writeUInt32LE(body.length, 4)
  return Buffer.concat([head, body])
}

/** Reads an image back (the emulator's TLS code); null when the magic or the lengths are wrong. */
export function parsePkiPartition(image: Buffer): PkiItem[] | null {
  if (image.length < 8 || image.readUInt16LE(0) !== MAGIC) return null
  const count = image.readUInt16LE(2)
  const total = image.readUInt32LE(4)
  if (8 + total > image.length) return null
  const items: PkiItem[] = []
  let at = 8
  for (let i = 0; i < count; i++) {
    if (at + 4 > 8 + total) return null
    const len = image.readUInt16LE(at + 2)
    if (at + 4 + len > 8 + total) return null
    items.push({ type: image[at]!, id: image[at + 1]!, content: Buffer.from(image.subarray(at + 4, at + 4 + len)) })
    at += 4 + Math.ceil(len / 4) * 4
  }
  return items
}
