import { readFile } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { parseCertificate, pemBlocks } from '../chain/index.js'
import { AppError } from '../core/errors.js'
import { termSafe } from '../core/sanitize.js'

/** No CA certificate is this big (the modules store 4 KiB at most); anything larger is a wrong file. */
const MAX_CA_FILE_BYTES = 1024 * 1024

export interface CaFile {
  der: Buffer
  subject: string
  /** Set when the file held several certificates: which one is used. */
  note: string | null
}

/**
 * Reads the certificate to upload to a module. Only X.509 certificates (PEM or DER) pass: a
 * private key or any other file is refused here, before a byte reaches the device.
 */
export async function readCaFile(file: string, cwd: string): Promise<CaFile> {
  const source = `--ca ${file}`
  let bytes: Buffer
  try {
    bytes = await readFile(resolvePath(cwd, file))
  } catch (err) {
    throw new AppError('CA_INVALID', `${source}: ${(err as Error).message}`)
  }
  if (bytes.length > MAX_CA_FILE_BYTES)
    throw new AppError('CA_INVALID', `${source}: ${bytes.length} bytes is not a CA certificate; nothing was sent`)
  const text = bytes.toString('latin1')
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!)
  if (labels.some((l) => /PRIVATE KEY/.test(l)))
    throw new AppError(
      'CA_INVALID',
      `${source} contains a private key (${labels.find((l) => /PRIVATE KEY/.test(l))}); refused, nothing was sent. Give the CA certificate only.`,
    )
  let ders: Buffer[]
  if (labels.length > 0) {
    ders = pemBlocks(text)
    if (ders.length === 0)
      throw new AppError('CA_INVALID', `${source} holds ${labels.join(', ')}, not a CERTIFICATE; nothing was sent`)
  } else {
    ders = [bytes]
  }
  const certs = ders.map((der, i) => {
    try {
      return parseCertificate(der)
    } catch {
      throw new AppError(
        'CA_INVALID',
        `${source}: ${labels.length > 0 ? `certificate ${i + 1} does not parse` : 'not an X.509 certificate (PEM or DER)'}; nothing was sent`,
      )
    }
  })
  const first = certs[0]!
  const note =
    certs.length > 1
      ? `${source} holds ${certs.length} certificates; uploading the first: ${termSafe(first.info.subject)} (sha256 ${first.info.sha256.slice(0, 16)}…)`
      : null
  return { der: first.der, subject: first.info.subject, note }
}
