/**
 * SQLite schema of the AccountLedger Durable Object. Applied in the constructor; each step is
 * idempotent, so an object created by any earlier version upgrades itself on wake.
 */
export const LEDGER_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS events (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order = delivery order
     id              TEXT    NOT NULL UNIQUE,           -- evt_...: the claim; a duplicate conflicts here
     source          TEXT    NOT NULL,
     idempotency_key TEXT    NOT NULL,
     type            TEXT,                              -- normalized type; null when quarantined
     state           TEXT    NOT NULL,                  -- pending | delivered | dead | quarantined
     body            TEXT,                              -- CloudEvent JSON exactly as sent to the origin
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
     expires_at INTEGER NOT NULL                       -- Unix ms
   )`,
  "CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at)",
];

export type EventState = "pending" | "delivered" | "dead" | "quarantined";

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
