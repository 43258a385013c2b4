import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { writeHtmlReport } from '../../src/report/render/html.js'
import { HOSTILE_SUBJECT, fixtureEvidence, fixtureModel } from './html-fixture.js'
import { ARGS, CHROMIUM, browserMissing, watch } from '../helpers/browser.js'

test('the HTML report in a real browser: hostile text stays text, nothing is fetched, filters work, JavaScript off still shows the matrix', async (t) => {
  const skip = browserMissing()
  if (skip) {
    t.skip(skip)
    return
  }
  const dir = await mkdtemp(join(tmpdir(), 'tlsmatrix-html-'))
  const file = join(dir, 'index.html')
  const out = createWriteStream(file)
  const model = fixtureModel()
  // A certificate name with a bidi override: `O=<U+202E>LIAM` would display as "MAIL" raw.
  const named = Object.values(model.certificates).find((c) => c.name === 'Lab Root')!
  named.name = 'O=\u202eLIAM Lab Root'
  await writeHtmlReport(model, fixtureEvidence(), out)
  out.end()
  await finished(out)
  const fileUrl = pathToFileURL(file).href

  // launch() gives the browser a fresh user data dir of its own under the temp folder, removed on close.
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })

    const context = await browser.newContext()
    const page = await context.newPage()
    const seen = watch(page, fileUrl)
    await page.route('**', (route) => (route.request().url() === fileUrl ? route.continue() : route.abort()))
    await page.goto(fileUrl, { waitUntil: 'load' })

    const matrix = page.locator('table.matrix').first()
    await matrix.waitFor({ state: 'visible' })
    await page
      .getByRole('heading', { name: /hostile\.example:443 on SPWF04SA@1\.0\.0: untrusted/ })
      .waitFor({ state: 'visible' })
    const why = page.locator('#failures .why li', { hasText: 'did not" sign' })
    await why.waitFor({ state: 'visible' })
    assert.match(
      await why.innerText(),
      /The CA <b>'x'<\/b> "did not" sign the server's certificate <\/li><script>alert\(4\)<\/script>/,
    )

    // The hostile subject is literal text on the page, and no element came out of it.
    const subject = page.getByText(HOSTILE_SUBJECT, { exact: false }).first()
    await subject.waitFor({ state: 'attached' })
    assert.equal(await page.locator('script').count(), 1, 'the page has exactly its own script element')
    assert.equal(await page.locator('img, svg, iframe, object, embed, link').count(), 0)
    const modLines = await page
      .locator('#failures article', { hasText: 'hostile.example:443' })
      .locator('pre.lines')
      .innerText()
    assert.match(modLines, /<\/pre><script>alert\(2\)<\/script>/)
    assert.match(modLines, /Certificate Error:22\\r\\n\n\\x1b\[31m/, 'CR LF and ESC shown, not swallowed')

    // Pass and fail are told apart by the cell's background (and a rule), not only by the mark.
    type Styled = { backgroundColor: string; borderLeftWidth: string; printColorAdjust?: string }
    const styleOf = (selector: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((el) => {
          const s = (globalThis as unknown as { getComputedStyle(e: unknown): Styled }).getComputedStyle(el)
          return { bg: s.backgroundColor, rule: s.borderLeftWidth, print: s.printColorAdjust ?? '' }
        })
    const passStyle = await styleOf('table.matrix td.cell.pass')
    const failStyle = await styleOf('table.matrix td.cell.fail')
    const notRunStyle = await styleOf('table.matrix td.cell.not-run')
    const white = 'rgb(255, 255, 255)'
    for (const st of [passStyle, failStyle, notRunStyle]) assert.ok(![white, 'rgba(0, 0, 0, 0)'].includes(st.bg), st.bg)
    assert.notEqual(passStyle.bg, failStyle.bg)
    assert.notEqual(notRunStyle.bg, failStyle.bg)
    assert.notEqual(notRunStyle.bg, passStyle.bg)
    assert.ok(parseFloat(failStyle.rule) >= 4, `a fail has a thick rule: ${failStyle.rule}`)
    assert.equal(parseFloat(passStyle.rule), 1)
    // The marks stay: colour is never the only signal.
    assert.match(await page.locator('table.matrix td.cell.pass .v').first().innerText(), /✓ pass/)
    assert.match(await page.locator('table.matrix td.cell.fail .v').first().innerText(), /✗ fail/)

    // A prediction that agrees is hidden until asked for; one that disagrees is always shown.
    const agreeing = page.locator('table.matrix td.cell .pred.agree').first()
    const disagreeing = page.locator('table.matrix td.cell.disagree .pred').first()
    assert.equal(await agreeing.isVisible(), false)
    assert.equal(await disagreeing.isVisible(), true)
    await page.locator('#filters').waitFor({ state: 'visible' })
    await page.check('#f-pred')
    await agreeing.waitFor({ state: 'visible' })
    await page.uncheck('#f-pred')
    await agreeing.waitFor({ state: 'hidden' })

    // Text from a certificate with a bidi override reads as its bytes, not reordered.
    await page.getByText('O=<U+202E>LIAM', { exact: false }).first().waitFor({ state: 'attached' })

    // Filter by verdict: rows with no failing cell hide (iot.example passes everywhere).
    const iotRow = page.locator('tr[data-row]', { has: page.locator('th', { hasText: 'iot.example:8443' }) })
    await iotRow.waitFor({ state: 'visible' })
    await page.locator('#filters').waitFor({ state: 'visible' })
    await page.selectOption('#f-verdict', 'fail')
    await iotRow.waitFor({ state: 'hidden' })
    await page.locator('tr[data-row]', { hasText: 'hostile.example:443' }).waitFor({ state: 'visible' })
    await page.selectOption('#f-verdict', '')
    // Filter by tag: a hostile tag is read from its data- attribute, never from script.
    await page.selectOption('#f-tag', 'a"b<i>')
    await iotRow.waitFor({ state: 'hidden' })
    await page.locator('tr[data-row]', { hasText: 'hostile.example:443' }).waitFor({ state: 'visible' })
    await page.selectOption('#f-tag', '')
    await iotRow.waitFor({ state: 'visible' })

    // Sort by a column: failing cells first.
    await page.locator('table.matrix').first().locator('thead th[data-col="2"] button').click()
    await page.locator('table.matrix thead th[aria-sort="ascending"]').waitFor()
    const firstRow = await page
      .locator('table.matrix')
      .first()
      .locator('tr[data-row]')
      .first()
      .locator('th')
      .innerText()
    assert.match(firstRow, /good\.example:443/, 'good.example fails on the second firmware, so it sorts first')

    // A matrix link opens the cell's evidence, transcript control characters visible.
    await page
      .locator('table.matrix')
      .first()
      .locator('tr[data-row]', { hasText: 'hostile.example:443' })
      .locator('td a')
      .first()
      .click()
    const evidence = page.locator('details.evidence[open]')
    await evidence.waitFor({ state: 'visible' })
    await evidence.locator('summary', { hasText: 'AT transcript' }).click()
    const transcript = await evidence.locator('pre.transcript').innerText()
    assert.match(transcript, /AT\+S\.TLSDOMAIN=hostile\.example\\r/)
    assert.match(transcript, /<script>alert\(5\)<\/script>\\x1b\[2J\\0\\r\\n/)

    // Print: the controls go, the matrix stays, and the cells keep their backgrounds on paper.
    await page.emulateMedia({ media: 'print' })
    await page.locator('#filters').waitFor({ state: 'hidden' })
    await page.locator('table.matrix').first().waitFor({ state: 'visible' })
    const printed = await styleOf('table.matrix td.cell.fail')
    assert.equal(printed.print, 'exact')
    assert.equal(printed.bg, failStyle.bg)
    await page.emulateMedia({ media: 'screen' })

    const shot = join(dir, 'report.png')
    await page.screenshot({ path: shot, fullPage: true })
    console.log(`screenshot: ${shot}`)

    assert.deepEqual(seen.dialogs, [], 'no alert or dialog fired')
    assert.deepEqual(seen.errors, [], 'no console error')
    assert.deepEqual(seen.foreign, [], 'no request left the file')
    assert.ok(seen.requests.includes(fileUrl))
    await context.close()

    // JavaScript off: the matrix, the findings and the evidence are all in the markup.
    const noJs = await browser.newContext({ javaScriptEnabled: false })
    const page2 = await noJs.newPage()
    const seen2 = watch(page2, fileUrl)
    await page2.route('**', (route) => (route.request().url() === fileUrl ? route.continue() : route.abort()))
    await page2.goto(fileUrl, { waitUntil: 'load' })
    await page2.locator('table.matrix').first().waitFor({ state: 'visible' })
    await page2.locator('tr[data-row]', { hasText: 'iot.example:8443' }).waitFor({ state: 'visible' })
    await page2.locator('#unsafe tr.unsafe', { hasText: 'expired.example:443' }).waitFor({ state: 'visible' })
    await page2.locator('#failures .why li', { hasText: 'did not" sign' }).waitFor({ state: 'visible' })
    assert.equal(
      await page2.locator('#filters').isVisible(),
      false,
      'controls that need JavaScript stay hidden without it',
    )
    assert.deepEqual(seen2.foreign, [])
    assert.deepEqual(seen2.dialogs, [])
    await noJs.close()
  } finally {
    await browser?.close()
    // The screenshot is kept for a person to look at; the rest of the folder with it.
    if (process.env.TLSMATRIX_KEEP_HTML !== '1') await rm(file, { force: true })
  }
})
