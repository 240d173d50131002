/**
 * SQLite schema of the AccountLedger Durable Object, as numbered migrations. `migrate` (run by
 * the constructor) applies the ones an object has not seen yet (recorded in its `_meta` table),
 * so an object created by an earlier version upgrades itself when it wakes. Append only: a
 * deployed object may be at any earlier number (test/ledger-upgrade.test.ts wakes the storage
 * that 0.1, 0.2, 0.3, 0.4 and 0.5 wrote). A migration is a list of statements, or a function
 * that reads the object (its catalog of partitions) and returns them.
 */
import { ATTEMPTS_HOLDS } from "./attempt-budget";
import { BODIES_HEADERS, CATALOG_TABLE } from "./partition-tables";
import type { LedgerStorage } from "./storage";

/**
 * The event table as migration 7 leaves it (and as a new object creates it). Its text is what
 * SQLite keeps, so it stays as migration 7 wrote it: since migration 9, `indexed` is the D1
 * index's (0: its row is still to be written, 1: written), KV's 2 is gone.
 */
const EVENTS_TABLE = `CREATE TABLE events (
  seq             INTEGER PRIMARY KEY,  -- arrival order = delivery order = CloudEvents sequence; never reused (migration 7)
  id              TEXT    NOT NULL UNIQUE, -- evt_...: the claim; a duplicate conflicts here
  source          TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  type            TEXT,                 -- normalized type; null when quarantined
  state           TEXT    NOT NULL,     -- pending | delivered | dead | quarantined | reprocessed
  body            TEXT,                 -- CloudEvent JSON as sent; dropped after retention
  raw             BLOB,                 -- quarantined only: the bytes received
  reason          TEXT,                 -- quarantine reason or last delivery error
  received_at     INTEGER NOT NULL,     -- Unix ms
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,              -- Unix ms, while pending
  last_status     INTEGER,              -- origin's last HTTP status
  delivered_at    INTEGER,
  indexed         INTEGER NOT NULL DEFAULT 0, -- the operators' KV index: 0 to write, 1 written, 2 to delete
  signed          TEXT,                 -- quarantined only: signed values from outside the body (JSON)
  requeued        INTEGER NOT NULL DEFAULT 0  -- 1 once an operator put it back in the outbox (redeliver, replay)
)`;

/** The latest successful attempt's latency (ms), beside `delivered_at` and `last_status` (migration 8). */
const EVENTS_DELIVERED_MS = "ALTER TABLE events ADD COLUMN delivered_ms INTEGER";

const EVENT_TABLE_COLUMNS =
  "seq, id, source, idempotency_key, type, state, body, raw, reason, received_at, attempts, next_attempt_at, last_status, delivered_at, indexed, signed";

/** The KV index's work (migrations 5 to 8): rows whose entry was to be written or deleted. */
const KV_INDEX_WORK =
  "CREATE INDEX events_index_work ON events (seq) WHERE indexed = 2 OR (indexed = 0 AND state IN ('dead', 'quarantined'))";
/**
 * The D1 index's work (migration 9, src/ledger/index-feed.ts): every row of `events` whose index
 * row is not yet written as it stands. Every write that changes such a row sets `indexed = 0`.
 * Partial, so a row that is written (1) is in it only between its change and the next sync, and
 * the common path (time partitions) never enters it.
 */
const INDEX_WORK = "CREATE INDEX events_index_work ON events (seq) WHERE indexed = 0";
const OTHER_EVENT_INDEXES = [
  // Pending rows an operator put back behind the outbox cursor: empty unless someone redelivers.
  "CREATE INDEX events_requeued ON events (seq) WHERE requeued = 1 AND state = 'pending'",
  // Dead letters and quarantined callbacks, for the quarantine's list (`state = 'quarantined'`).
  "CREATE INDEX events_held ON events (state, seq) WHERE state IN ('dead', 'quarantined')",
];
/** `events`' indexes as migration 7 made them (the KV index's work), kept as they were: migrations are never edited. */
const EVENT_INDEXES_V7 = [KV_INDEX_WORK, ...OTHER_EVENT_INDEXES];

/**
 * The request headers an event or quarantined callback was received with, allow-listed by
 * src/ingress.ts (JSON object; NULL before migration 9): in the row, so no row more is written.
 */
const EVENTS_HEADERS = "ALTER TABLE events ADD COLUMN headers TEXT";

const NONCES_TABLE = `CREATE TABLE nonces (
  nonce      TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL           -- Unix ms
) WITHOUT ROWID`;
const NONCES_INDEX = "CREATE INDEX nonces_by_expiry ON nonces (expires_at)";
const ATTEMPTS_TABLE = `CREATE TABLE attempts (
  event_seq INTEGER NOT NULL,
  attempt   INTEGER NOT NULL,
  at        INTEGER NOT NULL,           -- Unix ms
  outcome   TEXT    NOT NULL,           -- retry | rejected | delivered (an earlier success, kept when an operator put the event back; the latest is the event row)
  status    INTEGER,
  error     TEXT,
  ms        INTEGER,                    -- null for a success delivered before its latency was kept (migration 8)
  PRIMARY KEY (event_seq, attempt)
) WITHOUT ROWID`;
const COUNTERS_TABLE = `CREATE TABLE counters (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID`;
const META_TABLE = `CREATE TABLE _meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID`;

/** Copies a table into a `WITHOUT ROWID` twin and puts the twin in its place. */
function rebuildWithoutRowid(table: string, create: string, columns: string): string[] {
  return [
    create.replace(`CREATE TABLE ${table} (`, `CREATE TABLE ${table}_next (`),
    `INSERT INTO ${table}_next (${columns}) SELECT ${columns} FROM ${table}`,
    `DROP TABLE ${table}`,
    `ALTER TABLE ${table}_next RENAME TO ${table}`,
  ];
}

/**
 * What a new object creates: the schema every migration together leaves, in one step, without
 * replaying the copies and rebuilds older objects went through, with its `schema` mark (its rows
 * written: test/storage-gate.test.ts); test/ledger-upgrade.test.ts checks both paths end the same.
 */
export const FRESH_SCHEMA: readonly string[] = [
  META_TABLE,
  EVENTS_TABLE,
  INDEX_WORK,
  ...OTHER_EVENT_INDEXES,
  NONCES_TABLE,
  NONCES_INDEX,
  ATTEMPTS_TABLE,
  COUNTERS_TABLE,
  CATALOG_TABLE,
  EVENTS_DELIVERED_MS,
  EVENTS_HEADERS,
  ...ATTEMPTS_HOLDS,
];

/** A migration: its statements, or a function of the object's storage that returns them (run in the same transaction). */
export type Migration = readonly string[] | ((storage: LedgerStorage) => readonly string[]);

export const MIGRATIONS: readonly Migration[] = [
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
  [
    // Fewer rows written per event (docs/benchmarks.md, section 5). `events` is
    // rebuilt without AUTOINCREMENT (its `sqlite_sequence` row was one more row written per
    // claim) and without `events_by_state` (one more per claim and per delivery): the outbox
    // finds its head from a cursor instead (src/ledger/cursors.ts). `seq` stays unique and
    // growing: the highest number AUTOINCREMENT ever gave is kept as `seq_floor`, and retention
    // never deletes an account's newest row, so a claim's max(seq, seq_floor) + 1 never goes back.
    "INSERT OR REPLACE INTO _meta (key, value) SELECT 'seq_floor', CAST(seq AS TEXT) FROM sqlite_sequence WHERE name = 'events'",
    EVENTS_TABLE.replace("CREATE TABLE events (", "CREATE TABLE events_next ("),
    `INSERT INTO events_next (${EVENT_TABLE_COLUMNS}, requeued)
     SELECT ${EVENT_TABLE_COLUMNS}, 0 FROM events`,
    // Every pending row is after the outbox cursor: the outbox starts its scans there.
    `INSERT OR REPLACE INTO _meta (key, value) SELECT 'outbox_after',
       CAST(COALESCE((SELECT MIN(seq) - 1 FROM events WHERE state = 'pending'), (SELECT MAX(seq) FROM events), 0) AS TEXT)`,
    "DROP TABLE events",
    "ALTER TABLE events_next RENAME TO events",
    ...EVENT_INDEXES_V7,
    // Keyed tables without a rowid: a row is then one b-tree entry, so a write is one row
    // written, not two (the row and its primary-key index).
    ...rebuildWithoutRowid("nonces", NONCES_TABLE, "nonce, expires_at"),
    NONCES_INDEX,
    ...rebuildWithoutRowid("attempts", ATTEMPTS_TABLE, "event_seq, attempt, at, outcome, status, error, ms"),
    ...rebuildWithoutRowid("counters", COUNTERS_TABLE, "name, value"),
    ...rebuildWithoutRowid("_meta", META_TABLE, "key, value"),
  ],
  [
    // Time partitions (./partitions.ts): new events go to `keys_<n>` and `bodies_<n>`, which
    // retention drops whole (0 rows written) instead of deleting row by row. This catalog lists
    // them. Rows already in `events` stay there and are served and pruned as before.
    CATALOG_TABLE,
    // Every attempt is kept, a success included: the latency of the latest success is in its
    // row (no row more per delivery); an earlier success becomes an `attempts` row when an
    // operator puts the event back, with a null `ms` if it was delivered before this migration.
    EVENTS_DELIVERED_MS,
    ...rebuildWithoutRowid("attempts", ATTEMPTS_TABLE, "event_seq, attempt, at, outcome, status, error, ms"),
  ],
  (storage) => [
    // The operators' index moves from Workers KV to D1 (src/ledger/index-feed.ts), which holds
    // every event, not only dead and quarantined ones: `indexed` = 0 now means "this row's index
    // row is still to be written", and the partial index holds exactly those rows.
    // The upgrade's backfill: every row of `events` is written to D1 when the object next wakes
    // (the time partitions are walked from the index cursor `index_after`, 0 until then). Marked
    // before the index is made: one row written each, not two.
    "DROP INDEX IF EXISTS events_index_work",
    "UPDATE events SET indexed = 0 WHERE indexed != 0",
    INDEX_WORK,
    // The allow-listed request headers, kept with the body: in `events` and in every bodies
    // partition the catalog lists (new ones are created with the column: ./partition-tables.ts).
    EVENTS_HEADERS,
    ...storage
      .rows<{ name: string }>("SELECT name FROM partitions WHERE kind = 'bodies' ORDER BY name")
      .map((p) => `ALTER TABLE ${p.name} ${BODIES_HEADERS}`),
  ],
  ATTEMPTS_HOLDS, // origin protection: a probe's attempt, the time an account was held (./attempt-budget.ts)
];

/** The object's schema is newer than this code knows: docs/deploy.md "Rollback". */
export class LedgerSchemaTooNew extends Error {
  override readonly name = "LedgerSchemaTooNew";
  constructor(stored: number, known: number) {
    super(`ledger schema ${stored} was written by a newer release; this code knows ${known} migrations: deploy the newer release again`);
  }
}

/**
 * Applies the migrations this object has not seen, each recorded as done in `_meta.schema`.
 * Returns whether an existing object was upgraded (its alarm should run soon: migration 9 left
 * its history for the index feed); false for a new object or one already current.
 */
export function migrate(storage: LedgerStorage): boolean {
  const tables = storage.rows<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('_meta', 'events')");
  if (tables.length === 0) {
    // A new object: the final schema at once, recorded as every migration done.
    storage.atomically(() => {
      for (const statement of FRESH_SCHEMA) storage.run(statement);
      storage.run("INSERT INTO _meta (key, value) VALUES ('schema', ?)", String(MIGRATIONS.length));
    });
    return false;
  }
  storage.run("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const done = Number(storage.rows<{ value: string }>("SELECT value FROM _meta WHERE key = 'schema'")[0]?.value ?? 0);
  // Written by a newer release (this code was rolled back past a migration): this code cannot
  // read what that schema holds, so it refuses rather than miss or renumber events. The caller
  // gets an error (a webhook answers 503: the provider retries until the newer code is back).
  if (done > MIGRATIONS.length) throw new LedgerSchemaTooNew(done, MIGRATIONS.length);
  for (let version = done; version < MIGRATIONS.length; version++) {
    // Each migration with its `schema` mark in one transaction: a statement that fails (a full
    // disk while a table is copied) leaves the object as it was, and the next wake tries again.
    storage.atomically(() => {
      const migration = MIGRATIONS[version] ?? [];
      for (const statement of typeof migration === "function" ? migration(storage) : migration) storage.run(statement);
      storage.run(
        "INSERT INTO _meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        String(version + 1),
      );
    });
  }
  return done < MIGRATIONS.length;
}

export type { AttemptRow, EventRow, EventState } from "./rows";
