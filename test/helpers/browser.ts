import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A missing browser fails the test (the page would go untested); TLSMATRIX_NO_BROWSER=1 skips it, saying so. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null
  if (process.env.TLSMATRIX_NO_BROWSER === '1')
    return `TLSMATRIX_NO_BROWSER=1: the HTML report is not tested in a browser (${CHROMIUM} is missing)`
  assert.fail(
    `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), or set TLSMATRIX_NO_BROWSER=1 to skip the HTML browser test`,
  )
}

/** Everything the page does that it must not: requests other than the file itself, dialogs, console errors. */
export function watch(page: Page, fileUrl: string) {
  const seen = { requests: [] as string[], foreign: [] as string[], dialogs: [] as string[], errors: [] as string[] }
  page.on('request', (r) => {
    seen.requests.push(r.url())
    if (r.url() !== fileUrl) seen.foreign.push(r.url())
  })
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message())
    void d.dismiss()
  })
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text())
  })
  page.on('pageerror', (e) => seen.errors.push(String(e)))
  return seen
}
