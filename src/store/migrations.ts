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
]
