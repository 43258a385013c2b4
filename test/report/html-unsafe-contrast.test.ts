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
        globalThis as unknown as { getComputedStyle: (e: unknown) => { color: string; backgroundColor: string } }
      ).getComputedStyle
      const cell = el as unknown as { closest(selector: string): unknown }
      return { fg: style(el).color, bg: style(cell.closest('tr')).backgroundColor }
    })
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a)
    const ratio = (hi! + 0.05) / (lo! + 0.05)
    assert.ok(ratio >= 4.5, `contrast ${ratio.toFixed(2)} (${fg} on ${bg})`)
  } finally {
    await browser.close()
  }
})

// Pass and fail cells have backgrounds of their own now: every text on them (the mark and word, the
// anchor or class, the prediction, flags, the provenance line, links) must stay readable.
test('index.html: every text in a pass, fail, not-run or unsafe cell is readable on its background (contrast >= 4.5)', async (t) => {
  const skip = browserMissing()
  if (skip) {
    t.skip(skip)
    return
  }
  const file = join(await mkdtemp(join(tmpdir(), 'tlsmatrix-html-contrast-')), 'index.html')
  const out = createWriteStream(file)
  await writeHtmlReport(fixtureModel(), fixtureEvidence(), out)
  out.end()
  await finished(out)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  try {
    const page = await browser.newPage()
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    await page.locator('table.matrix').first().waitFor({ state: 'visible' })
    // Show every prediction, so the hidden ones are measured too.
    await page.check('#f-pred')
    const pairs = await page.locator('table.matrix td.cell').evaluateAll((cells) => {
      const style = (
        globalThis as unknown as {
          getComputedStyle: (e: unknown) => { color: string; backgroundColor: string; display: string }
        }
      ).getComputedStyle
      type El = { querySelectorAll(s: string): ArrayLike<El>; className: string; textContent: string | null }
      const out: Array<{ cls: string; text: string; fg: string; bg: string }> = []
      for (const td of cells as unknown as El[]) {
        for (const el of Array.from(td.querySelectorAll('.v, .sub, .flag, a'))) {
          if (style(el).display === 'none') continue
          out.push({
            cls: td.className,
            text: el.textContent ?? '',
            fg: style(el).color,
            bg: style(td).backgroundColor,
          })
        }
      }
      return out
    })
    const kinds = new Set(pairs.map((p) => p.cls.split(' ')[1]))
    for (const k of ['pass', 'fail', 'not-run', 'unsafe']) assert.ok(kinds.has(k), `a ${k} cell was measured`)
    for (const p of pairs) {
      const [hi, lo] = [luminance(p.fg), luminance(p.bg)].sort((a, b) => b - a)
      const ratio = (hi! + 0.05) / (lo! + 0.05)
      assert.ok(ratio >= 4.5, `${p.cls} "${p.text}": contrast ${ratio.toFixed(2)} (${p.fg} on ${p.bg})`)
    }
    // Pass and fail differ in lightness too, so they stay apart in greyscale and for red-green colour blindness.
    const bgOf = (k: string) => luminance(pairs.find((p) => p.cls.split(' ')[1] === k)!.bg)
    assert.ok(Math.abs(bgOf('pass') - bgOf('fail')) >= 0.1, `${bgOf('pass')} vs ${bgOf('fail')}`)
  } finally {
    await browser.close()
  }
})
