/**
 * Retention: what a ledger keeps, and for how long (docs/configuration.md "Key retention").
 * Delivered events' bodies are dropped after RETENTION_DELIVERED_SECONDS and their rows (the
 * idempotency keys) after RETENTION_KEYS_SECONDS; expired nonces go too. Dead letters and
 * quarantined events stay until an operator acts.
 *
 * Most events are in time partitions (./partitions.ts), and go with their table: `DROP TABLE`,
 * 0 rows written whatever it holds (`dropPartitions`). A bodies partition goes once it ended
 * RETENTION_DELIVERED_SECONDS ago, the outbox cursor is past its last row (nothing in it is
 * pending) and its last delivery is that old too; a keys partition once it ended
 * RETENTION_KEYS_SECONDS ago and its bodies partitions are gone.
 *
 * Rows in `events` (dead letters, events an operator put back, rows from before partitions)
 * are pruned row by row. The newest row there is never deleted, so `seq` never goes back. The
 * work is O(1) per event, whatever the account holds (docs/architecture.md "Retention"):
 * bodies and keys are each read from a cursor (`bodies_after`, `keys_after`: ./cursors.ts) in
 * `seq` order, which is arrival order, until the first row not yet expired, in batches of at
 * most PRUNE_BATCH rows; dead letters and quarantined rows are stepped over (an operator's
 * action on one moves the cursor back to it). The ledger prunes at most once per PRUNE_EVERY_MS
 * (sooner only while a full batch says more has expired). A row received a few ms before an
 * earlier `seq` (two isolates' clocks) waits for that one: kept a little longer, never pruned
 * early.
 */
import type { GatewayConfig } from "../config";
import type { Cursors } from "./cursors";
import type { Partitions } from "./partitions";
import type { LedgerStorage } from "./storage";

/** At most this many rows per step and per run. */
export const PRUNE_BATCH = 500;
/** A prune runs at most this often per object (the ledger tracks it in memory). */
export const PRUNE_EVERY_MS = 3_600_000;
/** When a step filled its batch: the next run comes this soon, not an hour later. */
export const PRUNE_AGAIN_MS = 1_000;

interface Row {
  seq: number;
  state: string;
  received_at: number;
  delivered_at: number | null;
}

/** Prunes what has expired (bounded); returns when the next prune is due, if anything is left to prune. */
export function prune(
  storage: LedgerStorage,
  cursors: Cursors,
  partitions: Partitions,
  config: GatewayConfig,
  now: number,
): number | undefined {
  const bodyCutoff = now - config.retentionDeliveredSeconds * 1000;
  const keyCutoff = now - config.retentionKeysSeconds * 1000;
  const partitionsNext = dropPartitions(storage, cursors, partitions, bodyCutoff, keyCutoff, now, config.indexMode !== "off");
  let full = pruneBodies(storage, cursors, bodyCutoff);
  full = pruneKeys(storage, cursors, keyCutoff, bodyCutoff) || full;
  const nonces = storage.rows(
    "DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE expires_at < ? ORDER BY expires_at LIMIT ?) RETURNING nonce",
    now,
    PRUNE_BATCH,
  );
  full ||= nonces.length === PRUNE_BATCH;
  if (full) return now + PRUNE_AGAIN_MS;
  const next = [earliestExpiry(storage, cursors, config), partitionsNext].filter((t) => t !== undefined);
  return next.length === 0 ? undefined : Math.max(Math.min(...next), now + PRUNE_EVERY_MS);
}

/**
 * When the outbox cursor passed a bodies partition, its last delivery time (read once: its rows
 * and their keys, 2 rows read per event over its life); in memory, so a partition waiting for a
 * late delivery to age is not read again each hour.
 */
const lastDeliveryOf = new WeakMap<Partitions, Map<string, number>>();

/**
 * Drops the partitions retention is done with, oldest first (./partitions.ts invariant 4);
 * returns when the next one may be due. The catalog says when each ended: no rows are read
 * to know that.
 */
function dropPartitions(
  storage: LedgerStorage,
  cursors: Cursors,
  partitions: Partitions,
  bodyCutoff: number,
  keyCutoff: number,
  now: number,
  indexed: boolean,
): number | undefined {
  const retentionBodies = now - bodyCutoff;
  const retentionKeys = now - keyCutoff;
  const delivered = lastDeliveryOf.get(partitions) ?? new Map<string, number>();
  lastDeliveryOf.set(partitions, delivered);
  const waits: number[] = [];
  for (const bodies of partitions.bodies()) {
    if (bodies.endsAt > bodyCutoff) {
      waits.push(bodies.endsAt + retentionBodies);
      continue;
    }
    // Something in it is still pending: the outbox passes it first (a prune an hour later sees);
    // or the operators' index has not taken all of it yet (D1 down): it waits, nothing is missed.
    // With the index off (INDEX_MODE "off") nothing waits for it.
    const passed = indexed ? Math.min(cursors.get("outbox_after"), cursors.get("index_after")) : cursors.get("outbox_after");
    if (passed < partitions.lastSeq(bodies)) {
      waits.push(now + PRUNE_EVERY_MS);
      continue;
    }
    let last = delivered.get(bodies.name);
    if (last === undefined) {
      last =
        storage.rows<{ at: number | null }>(
          `SELECT MAX(k.delivered_at) AS at FROM ${bodies.name} AS b JOIN ${bodies.keys} AS k ON k.id = b.id`,
        )[0]?.at ?? 0;
      delivered.set(bodies.name, last);
    }
    if (last > bodyCutoff) {
      waits.push(last + retentionBodies);
      continue;
    }
    partitions.drop(bodies);
    delivered.delete(bodies.name);
  }
  for (const keys of partitions.keys()) {
    if (partitions.bodiesOf(keys).length > 0) continue;
    if (keys.endsAt > keyCutoff) {
      waits.push(keys.endsAt + retentionKeys);
      continue;
    }
    // Failed attempts of its events (rows in `events` keep theirs); they have no other index.
    const highest = storage.rows<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM ${keys.name}`)[0]?.seq ?? 0;
    storage.run("DELETE FROM attempts WHERE event_seq <= ? AND event_seq NOT IN (SELECT seq FROM events)", highest);
    partitions.drop(keys);
  }
  return waits.length === 0 ? undefined : Math.min(...waits);
}

/**
 * Rows after a cursor, in order, while `expired` holds, at most PRUNE_BATCH. Read in pages that
 * double from 1, each run to its end (SQLite refuses to drop a table while a statement is still
 * stepping): a prune that finds nothing expired reads 1 row per cursor.
 */
function expiredAfter(storage: LedgerStorage, after: number, expired: (row: Row) => boolean): Row[] {
  const kept: Row[] = [];
  let from = after;
  for (let page = 1; ; page = Math.min(page * 2, PRUNE_BATCH - kept.length)) {
    const rows = storage.rows<Row & Record<string, SqlStorageValue>>(
      "SELECT seq, state, received_at, delivered_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
      from,
      page,
    );
    for (const row of rows) {
      if (!expired(row)) return kept;
      kept.push(row);
    }
    if (rows.length < page || kept.length >= PRUNE_BATCH) return kept;
    from = rows.at(-1)!.seq;
  }
}

/** Drops delivered bodies whose retention has passed; returns whether the batch was full. */
function pruneBodies(storage: LedgerStorage, cursors: Cursors, cutoff: number): boolean {
  const after = cursors.get("bodies_after");
  // Stops at a pending row or one delivered too recently: its body is still kept, and so are later ones.
  const rows = expiredAfter(
    storage,
    after,
    (r) => r.received_at < cutoff && r.state !== "pending" && !(r.state === "delivered" && (r.delivered_at ?? 0) >= cutoff),
  );
  const last = rows.at(-1)?.seq;
  if (last === undefined) return false;
  // The request headers kept with the body go with it (a partition's bodies table drops both at once).
  storage.run(
    "UPDATE events SET body = NULL, headers = NULL WHERE seq > ? AND seq <= ? AND state = 'delivered' AND (body IS NOT NULL OR headers IS NOT NULL)",
    after,
    last,
  );
  cursors.set("bodies_after", last);
  return rows.length === PRUNE_BATCH;
}

/** Deletes expired delivered and re-processed rows (and their attempts); returns whether the batch was full. */
function pruneKeys(storage: LedgerStorage, cursors: Cursors, cutoff: number, bodyCutoff: number): boolean {
  const after = cursors.get("keys_after");
  const newest = storage.rows<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events")[0]?.seq ?? 0;
  const rows = expiredAfter(
    storage,
    after,
    (r) =>
      r.seq < newest &&
      r.received_at < cutoff &&
      r.state !== "pending" &&
      !(r.state === "delivered" && (r.delivered_at ?? 0) >= bodyCutoff),
  );
  const last = rows.at(-1)?.seq;
  if (last === undefined) return false;
  const gone = "seq > ?1 AND seq <= ?2 AND state IN ('delivered', 'reprocessed')";
  storage.run(`DELETE FROM attempts WHERE event_seq IN (SELECT seq FROM events WHERE ${gone})`, after, last);
  storage.run(`DELETE FROM events WHERE ${gone}`, after, last);
  cursors.set("keys_after", last);
  return rows.length === PRUNE_BATCH;
}

/**
 * About when something retained next expires: the first row after each cursor (its receipt is
 * the earliest its body or key can expire) and the earliest nonce. One row read per probe.
 */
function earliestExpiry(storage: LedgerStorage, cursors: Cursors, config: GatewayConfig): number | undefined {
  const times: number[] = [];
  const first = (after: number, below = "") =>
    storage.rows<{ at: number }>(`SELECT received_at AS at FROM events WHERE seq > ? ${below} ORDER BY seq LIMIT 1`, after)[0]?.at;
  const body = first(cursors.get("bodies_after"));
  if (body !== undefined) times.push(body + config.retentionDeliveredSeconds * 1000);
  // The newest row keeps its key (its number is the account's last), so it is never waited for.
  const key = first(cursors.get("keys_after"), "AND seq < (SELECT MAX(seq) FROM events)");
  if (key !== undefined) times.push(key + config.retentionKeysSeconds * 1000);
  const nonce = storage.rows<{ at: number }>("SELECT expires_at AS at FROM nonces ORDER BY expires_at LIMIT 1")[0];
  if (nonce !== undefined) times.push(nonce.at);
  return times.length === 0 ? undefined : Math.min(...times);
}
