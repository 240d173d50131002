-- The operators' index (docs/console.md): one row per event across every source and account,
-- for the console's lists and searches. The account Durable Objects stay the authority; they
-- write here off the ack path, in batches, and an outage of this database never blocks ingest
-- or delivery (the index catches up). D1 bills every index of a table as one more row written:
-- the table has two, and one of them is partial (rows that need an operator only).

CREATE TABLE events (
  id              TEXT    PRIMARY KEY,   -- evt_...: unique across sources and accounts
  source          TEXT    NOT NULL,
  account         TEXT    NOT NULL,
  seq             INTEGER NOT NULL,      -- the event's place in its account's stream
  type            TEXT,                  -- the CloudEvent type (null for a quarantined callback)
  status          TEXT    NOT NULL,      -- pending | delivered | dead | quarantined | reprocessed
  amount          TEXT,                  -- exact decimal string, as in the event
  currency        TEXT,
  refs            TEXT    NOT NULL DEFAULT '[]', -- JSON array: the provider's own references
  received_at     INTEGER NOT NULL,      -- Unix ms
  delivered_at    INTEGER,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER,               -- the origin's last HTTP status
  next_attempt_at INTEGER,
  reason          TEXT,                  -- last delivery error, dead-letter or quarantine reason
  indexed_at      INTEGER NOT NULL       -- when this row was last written: the index's lag
) WITHOUT ROWID;

-- Lists newest first, filtered by source, account, type or status as they scan.
CREATE INDEX events_by_time ON events (received_at);
-- Dead letters, quarantine, pending: the rows an operator acts on. A delivered row is not in it,
-- so the common write (an event indexed once it is delivered) costs no row here.
CREATE INDEX events_attention ON events (status, received_at) WHERE status != 'delivered';

-- Search by any provider reference (order id, txid, serial, transaction id, ...): one row per
-- reference of an event.
CREATE TABLE refs (
  ref TEXT NOT NULL,
  id  TEXT NOT NULL,
  PRIMARY KEY (ref, id)
) WITHOUT ROWID;

-- One row per account object, rewritten with each batch it sends: backlog, origin health and
-- the index's lag as that account sees them.
CREATE TABLE accounts (
  source               TEXT    NOT NULL,
  account              TEXT    NOT NULL,
  pending              INTEGER NOT NULL,
  oldest_pending_at    INTEGER,
  last_attempt_at      INTEGER,
  last_status          INTEGER,
  last_error           TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  lag_ms               INTEGER,          -- the oldest event of the last batch: written minus received
  updated_at           INTEGER NOT NULL,
  PRIMARY KEY (source, account)
) WITHOUT ROWID;
