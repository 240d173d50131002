/**
 * What the time partitions (./partitions.ts) are made of: their tables, the catalog that lists
 * them, and how long each takes new rows. Kept apart so the schema (./schema.ts) and the reads
 * (./reads.ts) name them without the partitions' logic.
 */
import type { GatewayConfig } from "../config";

export type PartitionKind = "keys" | "bodies";

export interface Partition {
  readonly name: string;
  readonly kind: PartitionKind;
  readonly startsAt: number;
  readonly endsAt: number;
  /** Bodies only: the keys partition its rows' keys are in. */
  readonly keys: string | null;
  /** The `seq` the next claim would have taken when it was created: every row in it has this or a higher one. */
  readonly firstSeq: number;
}

export const CATALOG_TABLE = `CREATE TABLE partitions (
  name      TEXT    PRIMARY KEY,  -- keys_<n> | bodies_<n>
  kind      TEXT    NOT NULL,     -- keys | bodies
  starts_at INTEGER NOT NULL,     -- Unix ms: rows claimed from then ...
  ends_at   INTEGER NOT NULL,     -- ... until before then
  keys      TEXT,                 -- bodies only: its keys partition
  first_seq INTEGER NOT NULL      -- its rows' seq are at least this (and below the next one's first_seq)
) WITHOUT ROWID`;

/** The columns of a keys partition, as `events` names them, so a row moves with one statement. */
export const KEY_COLUMNS =
  "id, seq, source, idempotency_key, type, state, reason, received_at, attempts, next_attempt_at, last_status, delivered_at, delivered_ms";

export function keysTable(name: string): string {
  return `CREATE TABLE ${name} (
  id              TEXT    PRIMARY KEY,  -- evt_...: the claim
  seq             INTEGER NOT NULL,     -- the row of bodies_<n> holding its CloudEvent
  source          TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  state           TEXT    NOT NULL,     -- pending | delivered
  reason          TEXT,                 -- last delivery error
  received_at     INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_status     INTEGER,
  delivered_at    INTEGER,
  delivered_ms    INTEGER               -- the successful attempt's latency
) WITHOUT ROWID`;
}

/** The column migration 9 adds to the bodies partitions it finds (`ALTER TABLE <name> …`); new ones are created with it. */
export const BODIES_HEADERS = "ADD COLUMN headers TEXT";

export function bodiesTable(name: string): string {
  return `CREATE TABLE ${name} (
  seq     INTEGER PRIMARY KEY,          -- the account's sequence: arrival order
  id      TEXT    NOT NULL,
  body    TEXT    NOT NULL,             -- the CloudEvent JSON to send
  headers TEXT                          -- the allow-listed request headers (JSON), src/ingress.ts
)`;
}

const DAY_MS = 86_400_000;
/** The shortest span, whatever the retention: a prune runs at most hourly, so shorter spans would only pile up tables. */
const MIN_SPAN_MS = 600_000;

/**
 * How long a partition takes new rows. A quarter of the retention for bodies (at most a day),
 * a twelfth for keys (at most 32 days), never under 10 minutes: a row is kept at most one span past its retention,
 * and an account holds about 5 to 9 bodies partitions and 13 keys partitions (a claim probes
 * each keys partition's primary key: 0 rows read on a miss).
 */
export function spans(config: Pick<GatewayConfig, "retentionDeliveredSeconds" | "retentionKeysSeconds"> | undefined): {
  body: number;
  key: number;
} {
  const bodyRetention = (config?.retentionDeliveredSeconds ?? 7 * 86_400) * 1000;
  const keyRetention = (config?.retentionKeysSeconds ?? 400 * 86_400) * 1000;
  const body = Math.min(DAY_MS, Math.max(MIN_SPAN_MS, Math.floor(bodyRetention / 4)));
  const key = Math.max(body, Math.min(32 * DAY_MS, Math.max(MIN_SPAN_MS, Math.floor(keyRetention / 12))));
  return { body, key };
}
