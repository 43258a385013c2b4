import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SAMPLE_DIR, renderSample } from '../../scripts/docs-sample.js'

test('docs/sample is the current rendering of the kept field-report survey (npm run docs:sample)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tlsmatrix-sample-check-'))
  await renderSample(out)
  for (const f of ['index.html', 'matrix.md', 'compatibility.md', 'summary.txt']) {
    const fresh = readFileSync(join(out, f), 'utf8')
    const kept = readFileSync(join(SAMPLE_DIR, f), 'utf8')
    assert.ok(fresh === kept, `docs/sample/${f} is out of date: run npm run docs:sample and commit it`)
  }
  // It is the field report: the 1.0.0 failures and the fix 1.1.0 brings are in it.
  const md = readFileSync(join(SAMPLE_DIR, 'matrix.md'), 'utf8')
  assert.match(md, /## Diff: `SPWF04SA@1\.0\.0` → `SPWF04SA@1\.1\.0`/)
  assert.match(md, /has an RSA-4096 key; SPWF04SA 1\.0\.0 accepts RSA keys of 1024–2048 bits/)
})
