/**
 * Schema history. Each entry upgrades from version i to i+1 inside a transaction; the current
 * version lives in PRAGMA user_version. Never edit a released entry: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE certificates (
    sha256      TEXT PRIMARY KEY,
    der         BLOB NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    ski         TEXT,
    aki         TEXT,
    key_type    TEXT NOT NULL,
    key_bits    INTEGER,
    key_curve   TEXT,
    signature   TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    is_ca       INTEGER NOT NULL,
    self_signed INTEGER NOT NULL,
    first_seen  TEXT NOT NULL
  );
  CREATE INDEX certificates_ski ON certificates(ski);
  CREATE TABLE observations (
    id            INTEGER PRIMARY KEY,
    target        TEXT NOT NULL,
    host          TEXT NOT NULL,
    port          INTEGER NOT NULL,
    observed_at   TEXT NOT NULL,
    hello         TEXT NOT NULL,
    ip            TEXT,
    sni           TEXT,
    protocol      TEXT,
    cipher        TEXT,
    capture       TEXT,
    served        TEXT NOT NULL,
    chain_hash    TEXT,
    error_code    TEXT,
    error_message TEXT,
    timings       TEXT NOT NULL,
    anchors       TEXT NOT NULL,
    aia_errors    TEXT NOT NULL
  );
  CREATE INDEX observations_target ON observations(target, observed_at);
  CREATE INDEX observations_chain ON observations(chain_hash);
  `,
  `
  CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    label            TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT,
    status           TEXT NOT NULL,
    tool_version     TEXT NOT NULL,
    hosts_file       TEXT NOT NULL,
    hosts_hash       TEXT NOT NULL,
    trust_store_hash TEXT NOT NULL,
    devices          TEXT NOT NULL,
    options          TEXT NOT NULL,
    plan             TEXT
  );
  CREATE TABLE attempts (
    id             INTEGER PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES runs(id),
    device         TEXT NOT NULL,
    module         TEXT,
    firmware       TEXT,
    profile        TEXT,
    target         TEXT NOT NULL,
    host           TEXT NOT NULL,
    port           INTEGER NOT NULL,
    path           TEXT NOT NULL,
    anchor_sha256  TEXT NOT NULL,
    anchor_subject TEXT NOT NULL,
    anchor_source  TEXT NOT NULL,
    try            INTEGER NOT NULL,
    final          INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    class          TEXT,
    note           TEXT,
    lines          TEXT NOT NULL,
    http_status    INTEGER,
    body_bytes     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    expect         TEXT,
    observation_id INTEGER REFERENCES observations(id),
    transcript     TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
  );
  CREATE UNIQUE INDEX attempts_one_verdict ON attempts(run_id, device, target, anchor_sha256) WHERE final = 1;
  CREATE INDEX attempts_run ON attempts(run_id, device);
  `,
  // A typed not-run reason in its own columns (older rows: parsed once from their note), and the
  // CA upload each attempt relied on.
  `
  ALTER TABLE attempts ADD COLUMN reason TEXT;
  ALTER TABLE attempts ADD COLUMN reason_detail TEXT;
  ALTER TABLE attempts ADD COLUMN ca_upload TEXT;
  UPDATE attempts SET
    reason = CASE
      WHEN note LIKE 'no-anchor:%' THEN 'no-anchor'
      WHEN note LIKE 'ca-too-large:%' THEN 'ca-too-large'
      WHEN note LIKE 'ca-refused:%' THEN 'ca-refused'
      WHEN note LIKE 'device lost:%' THEN 'device-lost'
      ELSE 'link' END,
    reason_detail = CASE
      WHEN note LIKE 'no-anchor:%' OR note LIKE 'ca-too-large:%' OR note LIKE 'ca-refused:%' OR note LIKE 'device lost:%' THEN trim(substr(note, instr(note, ':') + 1))
      ELSE note END
    WHERE note IS NOT NULL;
  `,
  // What a report needs months later, on another machine: the firmware profile each device was
  // judged with (a snapshot), the targets as the hosts file listed them (order, tags, expect), and
  // which run each observation belongs to (the chain a verdict was made on, and its server facts).
  `
  ALTER TABLE runs ADD COLUMN profiles TEXT;
  ALTER TABLE runs ADD COLUMN targets TEXT;
  ALTER TABLE observations ADD COLUMN run_id TEXT;
  ALTER TABLE observations ADD COLUMN connect_port INTEGER;
  CREATE INDEX observations_run ON observations(run_id, target);
  CREATE INDEX attempts_cell ON attempts(module, firmware, target) WHERE final = 1;
  `,
  // Several rigs, one history (`tlsmatrix merge`): the machine each run was made on.
  `
  ALTER TABLE runs ADD COLUMN rig TEXT;
  `,
  // What a run is: a survey (verdicts a report reads) or a learn run (probes that made a firmware
  // profile, kept as evidence and for --resume, never read as verdicts). Older runs are surveys.
  `
  ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'survey' CHECK (kind IN ('survey', 'learn'));
  `,
  // A learn probe's evidence (the connections the probe lab saw: each ClientHello, how the
  // handshake ended) in a column of its own, typed, instead of JSON in the free-text note that
  // --resume parsed unchecked. Older learn runs: the JSON moves here and the note keeps its words.
  `
  ALTER TABLE attempts ADD COLUMN probe TEXT;
  UPDATE attempts SET probe = note, note = json_extract(note, '$.what')
    WHERE run_id IN (SELECT id FROM runs WHERE kind = 'learn')
      AND json_valid(note) AND json_type(note) = 'object' AND json_type(note, '$.connections') = 'array';
  `,
]
