/**
 * SQLite schema of the AccountLedger Durable Object, as numbered migrations. `migrate` (run by
 * the constructor) applies the ones an object has not seen yet (recorded in its `_meta` table),
 * so an object created by an earlier version upgrades itself when it wakes. Append only: a
 * deployed object may be at any earlier number (test/ledger-upgrade.test.ts wakes the storage
 * that 0.1 and 0.2 wrote).
 */
import type { LedgerStorage } from "./storage";

export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS events (
       seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order = delivery order = CloudEvents sequence; never reused
       id              TEXT    NOT NULL UNIQUE,           -- evt_...: the claim; a duplicate conflicts here
       source          TEXT    NOT NULL,
       idempotency_key TEXT    NOT NULL,
       type            TEXT,                              -- normalized type; null when quarantined
       state           TEXT    NOT NULL,                  -- pending | delivered | dead | quarantined | reprocessed
       body            TEXT,                              -- CloudEvent JSON as sent; dropped after retention
       raw             BLOB,                              -- quarantined only: the bytes received
       reason          TEXT,                              -- quarantine reason or last delivery error
       received_at     INTEGER NOT NULL,                  -- Unix ms
       attempts        INTEGER NOT NULL DEFAULT 0,
       next_attempt_at INTEGER,                           -- Unix ms, while pending
       last_status     INTEGER,                           -- origin's last HTTP status
       delivered_at    INTEGER
     )`,
    "CREATE INDEX IF NOT EXISTS events_by_state ON events (state, seq)",
    // Signed nonces seen (Cabital): a repeat before expires_at is a replay.
    `CREATE TABLE IF NOT EXISTS nonces (
       nonce      TEXT    PRIMARY KEY,
       expires_at INTEGER NOT NULL                         -- Unix ms
     )`,
    "CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at)",
  ],
  [
    // Every delivery attempt, for operators.
    `CREATE TABLE IF NOT EXISTS attempts (
       event_seq INTEGER NOT NULL,
       attempt   INTEGER NOT NULL,
       at        INTEGER NOT NULL,                         -- Unix ms
       outcome   TEXT    NOT NULL,                         -- delivered | retry | rejected
       status    INTEGER,
       error     TEXT,
       ms        INTEGER NOT NULL,
       PRIMARY KEY (event_seq, attempt)
     )`,
    // Dead letters and quarantined events are listed across accounts through a KV index;
    // 1 once this row's index key is written (2: to be deleted, see the last migration).
    "ALTER TABLE events ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0",
    // Per-source counters, kept by the source's `~stats` object.
    `CREATE TABLE IF NOT EXISTS counters (
       name  TEXT    PRIMARY KEY,
       value INTEGER NOT NULL
     )`,
  ],
  [
    // Fewer indexes, fewer rows written per event: retention queries scan the delivered rows
    // of one account, which a per-account object keeps small.
    "DROP INDEX IF EXISTS events_by_delivery",
  ],
  [
    // Event ids name the account since 0.2. An object that already holds events stored under
    // 0.1 ids keeps checking a claim's 0.1 id too, so a provider's retry across the upgrade
    // stays a duplicate (src/ingress.ts legacyEventId).
    "INSERT OR IGNORE INTO _meta (key, value) SELECT 'legacy_ids', '1' FROM events LIMIT 1",
  ],
  [
    // Rows whose operators' index entry is to be written or deleted: `indexed` is 0 for a
    // dead or quarantined row not yet in KV, 2 for a redelivered or re-processed one whose
    // entry is still to be deleted, 1 once KV matches. A partial index, so finding that work
    // (every alarm run) reads nothing when there is none, and delivering an event (which never
    // enters it) writes nothing more.
    "CREATE INDEX IF NOT EXISTS events_index_work ON events (seq) WHERE indexed = 2 OR (indexed = 0 AND state IN ('dead', 'quarantined'))",
  ],
  [
    // Quarantined only: the signed values the verifier returned from outside the body (a JSON
    // object, header name → value; Standard Webhooks' `webhook-id`), so re-processing rebuilds
    // the event a fresh delivery would make. NULL when the scheme signs nothing outside the body
    // and for rows stored before this migration. In no index: it adds no row written.
    "ALTER TABLE events ADD COLUMN signed TEXT",
  ],
];

/** Applies the migrations this object has not seen, each recorded as done in `_meta.schema`. */
export function migrate(storage: LedgerStorage): void {
  storage.run("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const done = Number(storage.rows<{ value: string }>("SELECT value FROM _meta WHERE key = 'schema'")[0]?.value ?? 0);
  for (let version = done; version < MIGRATIONS.length; version++) {
    for (const statement of MIGRATIONS[version] ?? []) storage.run(statement);
    storage.run(
      "INSERT INTO _meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(version + 1),
    );
  }
}

export type EventState = "pending" | "delivered" | "dead" | "quarantined" | "reprocessed";

export interface EventRow {
  seq: number;
  id: string;
  source: string;
  idempotency_key: string;
  type: string | null;
  state: EventState;
  body: string | null;
  reason: string | null;
  received_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  delivered_at: number | null;
}

export interface AttemptRow {
  attempt: number;
  at: number;
  outcome: string;
  status: number | null;
  error: string | null;
  /** null for the successful attempt, which is kept in the event row. */
  ms: number | null;
}
