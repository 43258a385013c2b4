import type { Cell, Provenance } from './types.js'

/**
 * What a device URL says about the module behind it. Only an `emu:` URL is known to be an
 * emulator: the run started it. A serial port or a TCP line is taken as a real module, though an
 * emulator started by hand (`tlsmatrix emulate --pty` or `--listen`) looks the same to the runner,
 * which by design cannot tell: it talks to bytes on a line. Pure.
 */
export function deviceKind(url: string | null): Provenance['kind'] {
  if (!url) return null
  if (url.startsWith('emu:')) return 'emu'
  if (url.startsWith('tcp://')) return 'tcp'
  if (url.startsWith('/') || /^COM\d+/i.test(url)) return 'serial'
  return null
}

/** The URL without its options (`?faults=…&seed=…`, `?baud=…`), as a reader names the device. */
export function deviceName(url: string): string {
  return url.split('?', 1)[0]!
}

const PTY = /^\/dev\/(pts\/\d+|tty[pq][0-9a-f]|pty)/

/** A short word for a cell: `emulated`, `serial`, `pty`, `tcp`, or `device ?` when the run did not say. */
export function provenanceShort(p: Provenance | undefined): string {
  if (!p || !p.kind || !p.url) return 'device ?'
  if (p.kind === 'emu') return 'emulated'
  if (p.kind === 'serial' && PTY.test(p.url)) return 'pty'
  return p.kind
}

/**
 * The device a verdict came from, in one sentence that is true on the evidence: an emulated
 * module's verdict follows its profile; a line's module is taken as real, and the sentence says
 * what the runner cannot know.
 */
export function provenanceText(p: Provenance | undefined, label: string, prefix = 'device: '): string {
  if (!p || !p.kind || !p.url)
    return `${prefix}${label} (the run did not record its URL: emulated or real is not known)`
  const name = deviceName(p.url)
  if (p.kind === 'emu')
    return `${prefix}${name} (emulated: the verdict follows the profile${p.profile ? ` ${p.profile}` : ''}, not a real module)`
  if (p.kind === 'tcp')
    return `${prefix}${name} (a TCP serial line: taken as a real module; an emulator on tlsmatrix emulate --listen would look the same)`
  if (PTY.test(p.url))
    return `${prefix}${name} (a pseudo-terminal: a real module behind a bridge, or an emulator started by hand with tlsmatrix emulate --pty; the runner cannot tell)`
  return `${prefix}${name} (serial port: taken as a real module)`
}

/**
 * Profile notes a verdict rests on, by failure class: the words a note uses for the fields
 * (checkValidity, checkHostname, anchorMatch, certificateKeys, maxCertificateBytes, suites…) and
 * for the lines the module prints for that class.
 */
const TOPICS: Record<string, RegExp> = {
  validity: /validity|expir|clock|not.?yet|notAfter/i,
  hostname: /host ?name|checkHostname|TLSDOMAIN|\bSNI\b/i,
  trust: /anchorMatch|\bCA\b|CA store|trust|path building|key id|\bAKI\b/i,
  signature: /signature|SHA-1|\bhash/i,
  keys: /\bRSA\b|ECDSA|\bkeys?\b|curves?/i,
  size: /too-large|maxCertificateBytes|maxChainBytes|\bKB\b|\bbytes\b/i,
  handshake: /suites?\b|groups|cipher|ECDHE|DHE|TLS 1\.\d/i,
  dns: /\bDNS\b/,
  connect: /\bconnect|socket/i,
  timeout: /time-?out/i,
  http: /\bHTTP\b|status code/i,
  unspecified: /ERRNO|bare ERROR|ERROR alone/i,
}

const CLASS_TOPICS: Record<string, string[]> = {
  expired: ['validity'],
  clock: ['validity'],
  hostname: ['hostname'],
  untrusted: ['trust', 'signature'],
  'key-unsupported': ['keys'],
  'too-large': ['size'],
  handshake: ['handshake'],
  dns: ['dns'],
  connect: ['connect'],
  timeout: ['timeout'],
  http: ['http'],
  unspecified: ['unspecified'],
  // A pass went through every check the profile models.
  pass: ['validity', 'hostname', 'trust', 'signature', 'keys', 'size', 'handshake'],
}

/**
 * The profile's GUESS notes (a note that says GUESS: a value no source confirms) on the fields
 * the cell's verdict rests on: its failure class's, or for a pass every check it went through. A
 * not-run cell has no verdict and rests on nothing. Pure.
 */
export function guessNotesFor(notes: readonly string[], cell: Pick<Cell, 'verdict' | 'class'>): string[] {
  if (cell.verdict === 'not-run') return []
  const key = cell.verdict === 'pass' ? 'pass' : (cell.class ?? 'unspecified')
  const topics = (CLASS_TOPICS[key] ?? []).map((t) => TOPICS[t]!)
  // A failure's own class named in a note ("Certificate Error:24 (expired) … are our choice").
  const own = cell.verdict === 'fail' ? new RegExp(`\\b${key.replace(/[^a-z-]/gi, '')}\\b`, 'i') : null
  return notes.filter((n) => /\bGUESS/.test(n) && (own?.test(n) || topics.some((re) => re.test(n))))
}

/**
 * A sentence for a "no disagreement" (or any agreement) statement when emulated cells are among
 * those compared: the prediction and the emulator read the same profile, so they agree by
 * construction. Null when no cell is emulated.
 */
export function agreementCaveat(cells: readonly Cell[]): string | null {
  const emulated = cells.filter((c) => c.evidence.provenance?.kind === 'emu').length
  if (!emulated) return null
  const all = emulated === cells.length
  return `${all ? `All ${emulated}` : `${emulated} of ${cells.length}`} cell(s) come from emulated modules: there the prediction and the emulator read the same profile, so their agreement proves nothing about the real module${all ? '' : '; only the other cells test the profile against a module'}.`
}
