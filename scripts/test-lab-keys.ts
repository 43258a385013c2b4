/**
 * `node --import tsx scripts/test-lab-keys.ts` — writes test/fixtures/lab/keys.json: a key for
 * every key of the lab specs the tests start (FIXTURE_LABS in test/helpers/lab-keys.ts), made
 * once and committed, so a test lab costs no key generation (an RSA-4096 key is a second or more
 * of CPU, and a lab has up to 26 keys). Tests copy them into a cache directory of their own; the
 * lab's behaviour for users (keys generated and cached under data/lab/.cache) does not change.
 * Run it again after adding a key to one of those specs (test/lab/fixture-keys.test.ts says
 * when): keys already in the file are kept, so the other labs' certificates do not change.
 * Test keys only: they are public, in this repository.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readLabSpec } from '../src/lab/index.js'
import { generateKey, keyOwners } from '../src/lab/pki.js'
import { FIXTURE_KEYS_FILE, FIXTURE_LABS, type FixtureKeys } from '../test/helpers/lab-keys.js'

const root = fileURLToPath(new URL('../', import.meta.url))
let kept: FixtureKeys = {}
try {
  kept = (JSON.parse(readFileSync(FIXTURE_KEYS_FILE, 'utf8')) as { labs: FixtureKeys }).labs
} catch {
  // No file yet: every key is new.
}
const labs: FixtureKeys = {}
for (const file of FIXTURE_LABS) {
  const spec = await readLabSpec(root + file)
  const keys: Record<string, string> = {}
  const owners = new Map([...keyOwners(spec).values()].map((o) => [`${o.keyName}.${o.keySpec}`, o.keySpec]))
  for (const [id, keySpec] of owners)
    keys[id] = kept[spec.name]?.[id] ?? (await generateKey(keySpec)).pkcs8.toString('base64')
  labs[spec.name] = keys
  process.stdout.write(`${spec.name}: ${owners.size} keys\n`)
}
writeFileSync(
  FIXTURE_KEYS_FILE,
  JSON.stringify({ madeBy: 'node --import tsx scripts/test-lab-keys.ts (test keys only)', labs }, null, 1) + '\n',
)
