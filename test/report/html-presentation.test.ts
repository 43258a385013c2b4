import { test } from 'node:test'
import assert from 'node:assert/strict'
import { htmlPieces } from '../../src/report/render/html.js'
import { renderMarkdown } from '../../src/report/render/index.js'
import type { ReportModel } from '../../src/report/model/types.js'
import { fixtureEvidence, fixtureModel } from './html-fixture.js'

const page = (model: ReportModel) => [...htmlPieces(model, fixtureEvidence())].join('')

/** The HTML of one section, by its id. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`)
  assert.ok(start >= 0, `section ${id}`)
  return html.slice(start, html.indexOf('</section>', start))
}

test('the evidence chain names each served certificate once: its subject, linked to its entry', () => {
  const html = page(fixtureModel())
  const evidence = section(html, 'evidence')
  const rows = [...evidence.matchAll(/<caption>Served chain[\s\S]*?<\/table>/g)].map((m) => m[0])
  assert.ok(rows.length > 0)
  for (const table of rows) {
    for (const tr of table.split('<tr>').slice(2)) {
      // One link per certificate, and the subject's CN written once in the row's subject cell.
      const subjectCell = tr.split('</td>')[1] ?? ''
      assert.equal((subjectCell.match(/<a href="#k\d+">/g) ?? []).length, 1, subjectCell)
      assert.equal(subjectCell.split('Lab Intermediate').length - 1 <= 1, true, subjectCell)
    }
  }
  assert.match(evidence, /<td><a href="#k\d+">CN=Lab Intermediate<\/a><\/td>/)
})

test('the expiry list says it covers CA certificates, and shows a certificate once with all its roles', () => {
  const model = fixtureModel()
  const html = section(page(model), 'expiring')
  assert.match(html, /<h2 id="expiring-h">CA certificates expiring within 60 days<\/h2>/)
  assert.match(html, /server \(leaf\) certificates are not listed/)
  assert.match(html, /<td>intermediate, anchor<\/td>/)
  assert.equal(html.split('Lab Intermediate</a>').length - 1, 1)
  const md = renderMarkdown(model)
  assert.match(md, /## Expiring CA certificates \(within 60 days\)/)
  assert.match(md, /\| Lab Intermediate \| intermediate, anchor \|/)
})

test('every matrix cell and evidence block says emulated or real; an emulated one lists the profile guesses', () => {
  const model = fixtureModel()
  const html = page(model)
  const matrix = section(html, 'matrix')
  const cells = matrix.match(/<td class="cell [^"]*"[\s\S]*?<\/td>/g) ?? []
  assert.ok(cells.length > 0)
  for (const td of cells) assert.match(td, /<span class="sub prov( emu)?">(emulated|serial)<\/span><\/td>$/, td)
  const evidence = section(html, 'evidence')
  assert.match(
    evidence,
    /<dt>Device<\/dt><dd class="prov emu">emu:spwf04sa-1\.0\.0 \(emulated: the verdict follows the profile spwf04sa-1\.0\.0, not a real module\)<\/dd>/,
  )
  assert.match(
    evidence,
    /<dt>Device<\/dt><dd class="prov">\/dev\/ttyUSB0 \(serial port: taken as a real module\)<\/dd>/,
  )
  // The guesses, as text: a note's markup never becomes markup.
  assert.match(evidence, /<li>GUESS: validity is checked against the module clock/)
  assert.ok(evidence.includes('&lt;/li&gt;&lt;script&gt;alert(6)'))
  assert.doesNotMatch(html, /<script>alert\(6\)/)
  // "No disagreement" on emulated modules would prove nothing: the page says why.
  assert.match(
    section(html, 'disagreements'),
    /4 of 8 cell\(s\) come from emulated modules: there the prediction and the emulator read the same profile/,
  )
})

test('matrix.md marks emulated cells and says what their agreement is worth', () => {
  const model = fixtureModel()
  for (const c of model.cells) c.disagree = false
  const md = renderMarkdown(model)
  assert.match(md, /\| good\.example:443 \| ✅ pass · Lab Root · emulated \| ❌ fail · handshake · ⚠️ expected pass \|/)
  assert.match(
    md,
    /## Disagreements \(2\)\n\n> 4 of 8 cell\(s\) come from emulated modules: there the prediction and the emulator read the same profile, so their agreement proves nothing about the real module/,
  )
})
