// Loaded into the measured process with NODE_OPTIONS=--import=<this file>: when that process
// exits, its peak resident set size (getrusage maxrss, kilobytes on Linux) is written to the file
// named by TLSMATRIX_RSS_PROBE_FILE. The variable is removed at once, so processes it starts
// (which inherit NODE_OPTIONS) do not overwrite the reading.
import { writeFileSync } from 'node:fs'
import process from 'node:process'

const file = process.env.TLSMATRIX_RSS_PROBE_FILE
delete process.env.TLSMATRIX_RSS_PROBE_FILE
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)))
