import { AppError } from '../core/errors.js'
import { resolveAddress, type Endpoint, type NameLookup, type ResolveMap } from '../hosts/index.js'
import { isPrivateAddress } from './address-policy.js'
import { x509Lib } from '../core/x509.js'

export interface AiaOptions {
  /** For the whole download, redirects included. */
  timeoutMs: number
  /** Body cap in bytes; a caIssuers response is one certificate or a small PKCS#7 bundle. */
  maxBytes: number
  maxRedirects: number
  allowPrivate: boolean
  resolveMap: ResolveMap
  /** Name-to-address lookup; the system resolver by default. */
  lookup?: NameLookup
  /** Aborting ends the download at once (the user stopped the batch). */
  signal?: AbortSignal
}

export const DEFAULT_AIA: Omit<AiaOptions, 'resolveMap'> = {
  timeoutMs: 5000,
  maxBytes: 64 * 1024,
  maxRedirects: 3,
  allowPrivate: false,
}

/**
 * Downloads the certificates behind an AIA caIssuers URL. The URL comes from an untrusted
 * certificate, so scheme, address, size, time and redirects are all bounded; the time bound is
 * one for the whole download (every hop, the name look-ups, the body), not one per hop.
 */
export async function fetchAiaCertificates(url: string, opts: AiaOptions): Promise<Buffer[]> {
  // undici is loaded on first use: most resolutions never download anything, and it is a
  // tenth of a second of start-up.
  const { Agent, buildConnector, request } = await import('undici')
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout
  const connector = buildConnector({ timeout: opts.timeoutMs })
  const started = performance.now()
  const left = () => Math.max(1, Math.round(opts.timeoutMs - (performance.now() - started)))
  const ended = () =>
    new AppError(
      'AIA_FAILED',
      opts.signal?.aborted
        ? `AIA ${url}: stopped by the user`
        : `AIA ${url}: timed out, no answer within ${opts.timeoutMs} ms`,
    )
  let current = url
  for (let hop = 0; hop <= opts.maxRedirects; hop++) {
    if (signal.aborted) throw ended()
    const target = await untilAborted(checkUrl(current, opts), signal, ended)
    const agent = new Agent({
      // Connect to the address and port we checked, never to a fresh DNS answer (no rebinding);
      // the URL's host still names the server (SNI, certificate check, Host header).
      connect: (o, cb) => connector({ ...o, hostname: target.address, port: String(target.port) }, cb),
    })
    try {
      const res = await request(current, {
        dispatcher: agent,
        method: 'GET',
        headersTimeout: left(),
        bodyTimeout: left(),
        signal,
        headers: { accept: 'application/pkix-cert, application/pkcs7-mime, */*' },
      })
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        await res.body.dump()
        current = new URL(res.headers.location, current).toString()
        continue
      }
      if (res.statusCode !== 200) {
        await res.body.dump()
        throw new AppError('AIA_FAILED', `AIA ${url}: HTTP ${res.statusCode}`)
      }
      const declared = Number(res.headers['content-length'] ?? 0)
      if (declared > opts.maxBytes) {
        res.body.destroy()
        throw new AppError('AIA_FAILED', `AIA ${url}: ${declared} bytes exceeds the ${opts.maxBytes}-byte cap`)
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > opts.maxBytes) {
          res.body.destroy()
          throw new AppError('AIA_FAILED', `AIA ${url}: body exceeds the ${opts.maxBytes}-byte cap`)
        }
        chunks.push(chunk as Buffer)
      }
      return decodeCertificates(Buffer.concat(chunks), url)
    } catch (err) {
      if (err instanceof AppError) throw err
      if (signal.aborted) throw ended()
      throw new AppError('AIA_FAILED', `AIA ${url}: ${(err as Error).message}`, { cause: err })
    } finally {
      void agent.destroy()
    }
  }
  throw new AppError('AIA_FAILED', `AIA ${url}: more than ${opts.maxRedirects} redirects`)
}

/** `p`, or the error `ended` gives as soon as the signal aborts (a name look-up takes no signal). */
async function untilAborted<T>(p: Promise<T>, signal: AbortSignal, ended: () => Error): Promise<T> {
  let onAbort = () => {}
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(ended())
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      }),
    ])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

async function checkUrl(raw: string, opts: AiaOptions): Promise<Endpoint> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new AppError('AIA_REFUSED', `AIA URL "${raw.slice(0, 200)}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AppError('AIA_REFUSED', `AIA ${raw}: scheme ${url.protocol} refused (http and https only)`)
  if (url.username || url.password) throw new AppError('AIA_REFUSED', `AIA ${raw}: credentials in URL refused`)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  let to: Endpoint
  try {
    to = await resolveAddress(host, port, opts.resolveMap, opts.lookup)
  } catch (err) {
    throw new AppError('AIA_FAILED', `AIA ${raw}: cannot resolve ${host}`, { cause: err })
  }
  if (!opts.allowPrivate && isPrivateAddress(to.address)) {
    throw new AppError(
      'AIA_REFUSED',
      `AIA ${raw}: ${host} is ${to.address}, a loopback or private address (use --aia-allow-private to allow)`,
    )
  }
  return to
}

/** caIssuers serves DER, PEM or a certs-only PKCS#7 bundle (RFC 5280 §4.2.2.1). */
function decodeCertificates(body: Buffer, url: string): Buffer[] {
  const x509 = x509Lib()
  try {
    return [Buffer.from(new x509.X509Certificate(body).rawData)]
  } catch {
    try {
      return [...new x509.X509Certificates(body)].map((c) => Buffer.from(c.rawData))
    } catch (err) {
      throw new AppError('AIA_FAILED', `AIA ${url}: body is not a certificate or PKCS#7 bundle`, { cause: err })
    }
  }
}
