import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { writeHtmlReport } from '../../src/report/render/html.js'
import { fixtureEvidence, fixtureModel } from './html-fixture.js'
import { ARGS, CHROMIUM, browserMissing } from '../helpers/browser.js'

const luminance = (rgb: string): number => {
  const [r, g, b] = (rgb.match(/\d+/g) ?? [])
    .slice(0, 3)
    .map((v) => Number(v) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
}

// An unsafe accept with no why sentence (a SHA-1 leaf the profile expects to pass) showed
// "no reason recorded" in dark grey on the dark red row: unreadable. It must stay legible.
test('index.html: "no reason recorded" in an unsafe row is readable (contrast >= 4.5)', async (t) => {
  const skip = browserMissing()
  if (skip) {
    t.skip(skip)
    return
  }
  const model = fixtureModel()
  for (const c of model.cells) if (c.unsafe) c.why = []
  const file = join(await mkdtemp(join(tmpdir(), 'tlsmatrix-html-contrast-')), 'index.html')
  const out = createWriteStream(file)
  await writeHtmlReport(model, fixtureEvidence(), out)
  out.end()
  await finished(out)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  try {
    const page = await browser.newPage()
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    const note = page.locator('tr.unsafe .small', { hasText: 'no reason recorded' }).first()
    await note.waitFor({ state: 'visible' })
    // Runs in the page: the browser's getComputedStyle, reached through globalThis (no DOM lib here).
    const { fg, bg } = await note.evaluate((el) => {
      const style = (
        globalThis as unknown as { getComputedStyle(e: unknown): { color: string; backgroundColor: string } }
      ).getComputedStyle
      return { fg: style(el).color, bg: style(el.closest('tr')).backgroundColor }
    })
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a)
    const ratio = (hi! + 0.05) / (lo! + 0.05)
    assert.ok(ratio >= 4.5, `contrast ${ratio.toFixed(2)} (${fg} on ${bg})`)
  } finally {
    await browser.close()
  }
})
